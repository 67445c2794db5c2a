// @ts-check
// Agent pools: the list (paged by the server) with each pool's listener
// count, and a form for platform admins to create one.
import { html } from '../lib/html.js';
import { api } from '../lib/session.js';
import { useLoad } from '../lib/hooks.js';
import { isAdmin } from '../lib/account.js';
import { poolPath } from '../lib/paths.js';
import { ErrorNote, Loading } from '../components/common.js';
import { LabelledList, NewLabelled } from '../components/labelled-list.js';

const POOLS = '/api/terrapod/v1/agent-pools';

/** @param {{query: URLSearchParams, account: any}} props */
export function AgentPoolsPage({ query, account }) {
    const page = Number(query.get('page')) || 1;
    const { data, error, reload } = useLoad(() => api.list(POOLS, page, 20), [page]);

    return html`<section>
        <header class="page-head"><h1>Agent pools</h1></header>
        ${isAdmin(account) && html`<${NewLabelled} summary="New agent pool" button="Create pool"
            create=${(/** @type {any} */ a) => api.post(POOLS, { data: { type: 'agent-pools', attributes: a } })}
            created=${reload} />`}
        <${ErrorNote} error=${error} />
        ${!data && !error && html`<${Loading} />`}
        ${data && html`<${LabelledList} page=${data} noun="agent pools"
            count=${{ title: 'Listeners', attribute: 'listener-count' }}
            linkOf=${(/** @type {any} */ p) => poolPath(p.id)}
            pageUrl=${(/** @type {number} */ n) => `/app/admin/agent-pools?page=${n}`} />`}
    </section>`;
}
