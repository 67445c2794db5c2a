// @ts-check
// Agent pools: the list (paged by the server) with each pool's listener
// count, and a form for platform admins to create one.
import { useState } from 'preact/hooks';
import { html } from '../lib/html.js';
import { api } from '../lib/session.js';
import { useLoad } from '../lib/hooks.js';
import { useAction } from '../lib/action.js';
import { isAdmin } from '../lib/account.js';
import { parseLabels, inputValue } from '../lib/forms.js';
import { poolPath } from '../lib/paths.js';
import { ErrorNote, Loading } from '../components/common.js';
import { LabelledList } from '../components/labelled-list.js';

const POOLS = '/api/terrapod/v1/agent-pools';

/** @param {{query: URLSearchParams, account: any}} props */
export function AgentPoolsPage({ query, account }) {
    const page = Number(query.get('page')) || 1;
    const { data, error, reload } = useLoad(() => api.list(POOLS, page, 20), [page]);

    return html`<section>
        <header class="page-head"><h1>Agent pools</h1></header>
        ${isAdmin(account) && html`<${NewPool} created=${reload} />`}
        <${ErrorNote} error=${error} />
        ${!data && !error && html`<${Loading} />`}
        ${data && html`<${LabelledList} page=${data} noun="agent pools"
            count=${{ title: 'Listeners', attribute: 'listener-count' }}
            linkOf=${(/** @type {any} */ p) => poolPath(p.id)}
            pageUrl=${(/** @type {number} */ n) => `/app/admin/agent-pools?page=${n}`} />`}
    </section>`;
}

/** @param {{created: () => void}} props */
function NewPool({ created }) {
    const [name, setName] = useState('');
    const [description, setDescription] = useState('');
    const [labels, setLabels] = useState('');
    const act = useAction();

    const submit = async (/** @type {Event} */ e) => {
        e.preventDefault();
        const ok = await act.run(() => api.post(POOLS, { data: { type: 'agent-pools', attributes: {
            name, description, labels: parseLabels(labels) } } }));
        if (ok) {
            setName('');
            setDescription('');
            setLabels('');
            created();
        }
    };
    return html`<details class="panel">
        <summary>New agent pool</summary>
        <form class="stack" onSubmit=${submit}>
            <label>Name <input required value=${name} onInput=${(/** @type {Event} */ e) => setName(inputValue(e))} /></label>
            <label>Description <input value=${description}
                onInput=${(/** @type {Event} */ e) => setDescription(inputValue(e))} /></label>
            <label>Labels <input value=${labels} placeholder="key=value, key=value"
                onInput=${(/** @type {Event} */ e) => setLabels(inputValue(e))} /></label>
            <${ErrorNote} error=${act.error} />
            <p><button class="primary" type="submit" disabled=${act.busy}>Create pool</button></p>
        </form>
    </details>`;
}
