// @ts-check
// Registry providers: the ones the caller may read, each with its version
// count and labels, and a form to create one (the server decides whether
// the caller may).
import { html } from '../lib/html.js';
import { api } from '../lib/session.js';
import { useLoad } from '../lib/hooks.js';
import { GPG_KEYS, providerPath, PROVIDERS } from '../lib/paths.js';
import { Link, ErrorNote, Loading } from '../components/common.js';
import { LabelledList, NewLabelled } from '../components/labelled-list.js';

export const PROVIDERS_API = '/api/terrapod/v1/registry-providers';

/** @param {{query: URLSearchParams}} props */
export function ProvidersPage({ query }) {
    const page = Number(query.get('page')) || 1;
    const { data, error, reload } = useLoad(() => api.list(PROVIDERS_API, page, 20), [page]);

    return html`<section>
        <header class="page-head"><h1>Providers</h1></header>
        <p>Private providers terraform installs as <code>${location.host}/default/NAME</code>,
            published with a <${Link} to=${GPG_KEYS}>registered GPG key<//>.</p>
        <${NewLabelled} summary="New provider" button="Create provider" namePattern="[a-z][a-z0-9\\-]{0,63}"
            create=${(/** @type {any} */ a) => api.post(PROVIDERS_API, { data: { type: 'registry-providers',
                attributes: { ...a, namespace: 'default', 'registry-name': 'private' } } })}
            created=${reload} />
        <${ErrorNote} error=${error} />
        ${!data && !error && html`<${Loading} />`}
        ${data && html`<${LabelledList} page=${data} noun="providers"
            count=${{ title: 'Versions', attribute: 'version-count' }}
            linkOf=${(/** @type {any} */ p) => providerPath(p.attributes.name)}
            pageUrl=${(/** @type {number} */ n) => `${PROVIDERS}?page=${n}`} />`}
    </section>`;
}
