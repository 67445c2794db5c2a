// @ts-check
// The private module registry: the modules the caller may read (paged by
// the server, searched by name), and a form to create one; the server
// decides whether the caller may (registry write on the new module).
import { useState } from 'preact/hooks';
import { html } from '../lib/html.js';
import { api } from '../lib/session.js';
import { useLoad } from '../lib/hooks.js';
import { useAction } from '../lib/action.js';
import { parseLabels, inputValue } from '../lib/forms.js';
import { labelList } from '../lib/format.js';
import { navigate } from '../lib/nav.js';
import { modulePath, ORG } from '../lib/paths.js';
import { Link, ErrorNote, Loading, Pager } from '../components/common.js';

export const MODULES = '/api/terrapod/v1/registry-modules';

/** @param {{query: URLSearchParams}} props */
export function RegistryModulesPage({ query }) {
    const page = Number(query.get('page')) || 1;
    const q = query.get('q') || '';
    const { data, error, reload } = useLoad(() => api.list(MODULES, page, 20, q ? { q } : {}),
                                            [page, q]);
    const [search, setSearch] = useState(q);
    const go = (/** @type {number} */ p, /** @type {string} */ s) =>
        navigate(`/app/${ORG}/registry/modules?page=${p}${s ? `&q=${encodeURIComponent(s)}` : ''}`,
                 { replace: true });

    return html`<section>
        <header class="page-head"><h1>Modules</h1></header>
        <form role="search" class="inline" onSubmit=${(/** @type {Event} */ e) => { e.preventDefault(); go(1, search); }}>
            <label>Search by name <input type="search" value=${search}
                onInput=${(/** @type {Event} */ e) => setSearch(inputValue(e))} /></label>
            <button type="submit">Search</button>
        </form>
        <${NewModule} created=${reload} />
        <${ErrorNote} error=${error} />
        ${!data && !error && html`<${Loading} />`}
        ${data && html`${data.data.length === 0 ? html`<p>No modules${q ? ' match' : ' yet'}.</p>`
            : html`<div class="table-wrap"><table class="list">
                <thead><tr>
                    <th scope="col">Module</th><th scope="col">Latest version</th>
                    <th scope="col">Labels</th><th scope="col">Description</th>
                </tr></thead>
                <tbody>${data.data.map((m) => { const a = m.attributes || {}; return html`<tr key=${m.id}>
                    <th scope="row"><${Link} to=${modulePath(a.name, a.provider)}>${a.name}/${a.provider}<//></th>
                    <td>${(a['version-statuses'] || [])[0] ? a['version-statuses'][0].version
                        : html`<span class="muted">none</span>`}</td>
                    <td>${labelList(a.labels).map((l) => html`<span class="label">${l}</span> `)}</td>
                    <td>${a.description}</td>
                </tr>`; })}</tbody>
            </table></div>`}
            <${Pager} pagination=${data.pagination} noun="modules" go=${(/** @type {number} */ p) => go(p, q)} />`}
    </section>`;
}

/** @param {{created: () => void}} props */
function NewModule({ created }) {
    const [name, setName] = useState('');
    const [provider, setProvider] = useState('');
    const [description, setDescription] = useState('');
    const [labels, setLabels] = useState('');
    const act = useAction();

    const submit = async (/** @type {Event} */ e) => {
        e.preventDefault();
        const ok = await act.run(() => api.post(MODULES, { data: { type: 'registry-modules', attributes: {
            name, provider, description, 'registry-name': 'private', labels: parseLabels(labels) } } }));
        if (ok) {
            navigate(modulePath(name, provider));
            created();
        }
    };
    return html`<details class="panel">
        <summary>New module</summary>
        <form class="stack" onSubmit=${submit}>
            <label>Name <input required value=${name} pattern="[A-Za-z0-9][A-Za-z0-9_\\-]*"
                onInput=${(/** @type {Event} */ e) => setName(inputValue(e))} /></label>
            <label>Provider <input required value=${provider} pattern="[a-z0-9]+" placeholder="aws"
                onInput=${(/** @type {Event} */ e) => setProvider(inputValue(e))} /></label>
            <label>Description <input value=${description}
                onInput=${(/** @type {Event} */ e) => setDescription(inputValue(e))} /></label>
            <label>Labels <input value=${labels} placeholder="key=value, key=value"
                onInput=${(/** @type {Event} */ e) => setLabels(inputValue(e))} /></label>
            <${ErrorNote} error=${act.error} />
            <p><button class="primary" type="submit" disabled=${act.busy}>Create module</button></p>
        </form>
    </details>`;
}
