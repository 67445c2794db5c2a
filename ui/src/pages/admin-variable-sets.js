// @ts-check
// Variable sets: the list, and a form for platform admins to create one.
import { useState } from 'preact/hooks';
import { html } from '../lib/html.js';
import { api } from '../lib/session.js';
import { useLoad } from '../lib/hooks.js';
import { useAction } from '../lib/action.js';
import { isAdmin } from '../lib/account.js';
import { inputValue, inputChecked } from '../lib/forms.js';
import { navigate } from '../lib/nav.js';
import { ORG, varsetPath } from '../lib/paths.js';
import { Link, ErrorNote, Loading, Pager } from '../components/common.js';

const VARSETS = `/api/v2/organizations/${ORG}/varsets`;

/** @param {{query: URLSearchParams, account: any}} props */
export function VariableSetsPage({ query, account }) {
    const page = Number(query.get('page')) || 1;
    const { data, error } = useLoad(() => api.list(VARSETS, page, 20), [page]);

    return html`<section>
        <header class="page-head"><h1>Variable sets</h1></header>
        ${isAdmin(account) && html`<${NewVarset} />`}
        <${ErrorNote} error=${error} />
        ${!data && !error && html`<${Loading} />`}
        ${data && html`${data.data.length === 0 ? html`<p>No variable sets yet.</p>`
            : html`<div class="table-wrap"><table class="list">
                <thead><tr>
                    <th scope="col">Name</th><th scope="col">Applies to</th><th scope="col">Priority</th>
                    <th scope="col">Variables</th><th scope="col">Description</th>
                </tr></thead>
                <tbody>${data.data.map((s) => { const a = s.attributes || {}; return html`<tr key=${s.id}>
                    <th scope="row"><${Link} to=${varsetPath(s.id)}>${a.name}<//></th>
                    <td>${a.global ? 'every workspace' : `${a['workspace-count']} workspaces`}</td>
                    <td>${a.priority}</td>
                    <td>${a['var-count']}</td>
                    <td>${a.description}</td>
                </tr>`; })}</tbody>
            </table></div>`}
            <${Pager} pagination=${data.pagination} noun="variable sets"
                go=${(/** @type {number} */ p) => navigate(`/app/admin/variable-sets?page=${p}`, { replace: true })} />`}
    </section>`;
}

function NewVarset() {
    const [name, setName] = useState('');
    const [description, setDescription] = useState('');
    const [global, setGlobal] = useState(false);
    const act = useAction();

    const submit = async (/** @type {Event} */ e) => {
        e.preventDefault();
        await act.run(async () => {
            const doc = await api.post(VARSETS, { data: { type: 'varsets', attributes: {
                name, description, global } } });
            navigate(varsetPath(doc.data.id));
        });
    };
    return html`<details class="panel">
        <summary>New variable set</summary>
        <form class="stack" onSubmit=${submit}>
            <label>Name <input required value=${name} onInput=${(/** @type {Event} */ e) => setName(inputValue(e))} /></label>
            <label>Description <input value=${description}
                onInput=${(/** @type {Event} */ e) => setDescription(inputValue(e))} /></label>
            <label class="check"><input type="checkbox" checked=${global}
                onChange=${(/** @type {Event} */ e) => setGlobal(inputChecked(e))} /> Applies to every workspace</label>
            <${ErrorNote} error=${act.error} />
            <p><button class="primary" type="submit" disabled=${act.busy}>Create variable set</button></p>
        </form>
    </details>`;
}
