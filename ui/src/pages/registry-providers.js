// @ts-check
// Registry providers: the ones the caller may read, each with its version
// count and labels, and a form to create one (the server decides whether
// the caller may).
import { useState } from 'preact/hooks';
import { html } from '../lib/html.js';
import { api } from '../lib/session.js';
import { useLoad } from '../lib/hooks.js';
import { useAction } from '../lib/action.js';
import { parseLabels, inputValue } from '../lib/forms.js';
import { providerPath, PROVIDERS } from '../lib/paths.js';
import { Link, ErrorNote, Loading } from '../components/common.js';
import { LabelledList } from '../components/labelled-list.js';

export const PROVIDERS_API = '/api/terrapod/v1/registry-providers';

/** @param {{query: URLSearchParams}} props */
export function ProvidersPage({ query }) {
    const page = Number(query.get('page')) || 1;
    const { data, error, reload } = useLoad(() => api.list(PROVIDERS_API, page, 20), [page]);

    return html`<section>
        <header class="page-head"><h1>Providers</h1></header>
        <p>Private providers terraform installs as <code>${location.host}/default/NAME</code>,
            published with a <${Link} to="/app/registry/gpg-keys">registered GPG key<//>.</p>
        <${NewProvider} created=${reload} />
        <${ErrorNote} error=${error} />
        ${!data && !error && html`<${Loading} />`}
        ${data && html`<${LabelledList} page=${data} noun="providers"
            count=${{ title: 'Versions', attribute: 'version-count' }}
            linkOf=${(/** @type {any} */ p) => providerPath(p.attributes.name)}
            pageUrl=${(/** @type {number} */ n) => `${PROVIDERS}?page=${n}`} />`}
    </section>`;
}

/** @param {{created: () => void}} props */
function NewProvider({ created }) {
    const [name, setName] = useState('');
    const [description, setDescription] = useState('');
    const [labels, setLabels] = useState('');
    const act = useAction();

    const submit = async (/** @type {Event} */ e) => {
        e.preventDefault();
        const ok = await act.run(() => api.post(PROVIDERS_API, { data: { type: 'registry-providers',
            attributes: { name, namespace: 'default', 'registry-name': 'private', description,
                          labels: parseLabels(labels) } } }));
        if (ok) {
            setName('');
            setDescription('');
            setLabels('');
            created();
        }
    };
    return html`<details class="panel">
        <summary>New provider</summary>
        <form class="stack" onSubmit=${submit}>
            <label>Name <input required value=${name} pattern="[a-z][a-z0-9\\-]{0,63}"
                onInput=${(/** @type {Event} */ e) => setName(inputValue(e))} /></label>
            <label>Description <input value=${description}
                onInput=${(/** @type {Event} */ e) => setDescription(inputValue(e))} /></label>
            <label>Labels <input value=${labels} placeholder="key=value, key=value"
                onInput=${(/** @type {Event} */ e) => setLabels(inputValue(e))} /></label>
            <${ErrorNote} error=${act.error} />
            <p><button class="primary" type="submit" disabled=${act.busy}>Create provider</button></p>
        </form>
    </details>`;
}
