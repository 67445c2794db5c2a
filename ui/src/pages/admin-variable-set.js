// @ts-check
// One variable set: its settings, its variables (sensitive values are
// write-only: never shown, replaced only when a new one is typed) and the
// workspaces it is assigned to. Platform admins change it; auditors read.
import { useState } from 'preact/hooks';
import { html } from '../lib/html.js';
import { api } from '../lib/session.js';
import { useLoad } from '../lib/hooks.js';
import { useAction, confirmed } from '../lib/action.js';
import { isAdmin } from '../lib/account.js';
import { inputValue, inputChecked } from '../lib/forms.js';
import { navigate } from '../lib/nav.js';
import { ORG, workspacePath } from '../lib/paths.js';
import { Link, ErrorNote, Loading } from '../components/common.js';

/** @typedef {import('../lib/api.js').Resource} Resource */

/** @param {{params: {id: string}, account: any}} props */
export function VariableSetPage({ params, account }) {
    const path = `/api/v2/varsets/${encodeURIComponent(params.id)}`;
    const { data, error, reload } = useLoad(() => api.get(path), [path]);
    const s = data && data.data;
    const admin = isAdmin(account);
    const act = useAction();

    if (error && !s) {
        return html`<h1>Variable set</h1><${ErrorNote} error=${error} />`;
    }
    if (!s) {
        return html`<${Loading} />`;
    }
    const remove = async () => {
        if (confirmed(`Delete the variable set ${s.attributes.name} and its variables?`)
            && await act.run(() => api.del(path))) {
            navigate('/app/admin/variable-sets');
        }
    };
    return html`<article>
        <header class="page-head">
            <p class="crumbs"><${Link} to="/app/admin/variable-sets">Variable sets<//></p>
            <h1>${s.attributes.name}</h1>
        </header>
        ${admin ? html`<${Settings} set=${s} path=${path} saved=${reload} />`
            : html`<p>${s.attributes.description}</p>
                <p>${s.attributes.global ? 'Applies to every workspace' : 'Applies to the workspaces below'};
                    priority ${s.attributes.priority}.</p>`}
        <${Variables} path=${`${path}/relationships/vars`} admin=${admin} changed=${reload} />
        ${!s.attributes.global && html`<${Workspaces} set=${s} path=${path} admin=${admin} changed=${reload} />`}
        ${admin && html`<h2>Delete</h2>
            <${ErrorNote} error=${act.error} />
            <p><button class="danger" type="button" disabled=${act.busy} onClick=${remove}>Delete variable set</button></p>`}
    </article>`;
}

/** @param {{set: Resource, path: string, saved: () => void}} props */
function Settings({ set, path, saved }) {
    const a = set.attributes || {};
    const [name, setName] = useState(a.name);
    const [description, setDescription] = useState(a.description || '');
    const [global, setGlobal] = useState(!!a.global);
    const [priority, setPriority] = useState(String(a.priority));
    const act = useAction();

    const submit = async (/** @type {Event} */ e) => {
        e.preventDefault();
        if (await act.run(() => api.patch(path, { data: { type: 'varsets', attributes: {
            name, description, global, priority: Number(priority) } } }))) {
            saved();
        }
    };
    return html`<form class="stack" onSubmit=${submit} aria-label="Settings">
        <label>Name <input required value=${name} onInput=${(/** @type {Event} */ e) => setName(inputValue(e))} /></label>
        <label>Description <input value=${description}
            onInput=${(/** @type {Event} */ e) => setDescription(inputValue(e))} /></label>
        <label class="check"><input type="checkbox" checked=${global}
            onChange=${(/** @type {Event} */ e) => setGlobal(inputChecked(e))} /> Applies to every workspace</label>
        <label>Priority (the higher wins between sets) <input type="number" value=${priority}
            onInput=${(/** @type {Event} */ e) => setPriority(inputValue(e))} /></label>
        <${ErrorNote} error=${act.error} />
        <p><button class="primary" type="submit" disabled=${act.busy}>Save settings</button></p>
    </form>`;
}

/** @param {{path: string, admin: boolean, changed: () => void}} props */
function Variables({ path, admin, changed }) {
    const { data, error, reload } = useLoad(() => api.get(path), [path]);
    const [editing, setEditing] = useState(/** @type {string|null} */ (null));
    const act = useAction();
    const vars = data ? /** @type {Resource[]} */ (data.data) : [];

    const done = () => {
        setEditing(null);
        reload();
        changed();
    };
    const remove = async (/** @type {Resource} */ v) => {
        if (confirmed(`Delete the variable ${v.attributes && v.attributes.key}?`)
            && await act.run(() => api.del(`${path}/${encodeURIComponent(v.id)}`))) {
            done();
        }
    };
    return html`<section aria-labelledby="vars-h">
        <h2 id="vars-h">Variables</h2>
        <${ErrorNote} error=${error || act.error} />
        ${!data && !error && html`<${Loading} />`}
        ${data && (vars.length === 0 ? html`<p>No variables in this set.</p>`
            : html`<div class="table-wrap"><table class="list">
                <thead><tr>
                    <th scope="col">Key</th><th scope="col">Value</th><th scope="col">Category</th>
                    <th scope="col">Description</th>
                    ${admin && html`<th scope="col"><span class="visually-hidden">Actions</span></th>`}
                </tr></thead>
                <tbody>${vars.map((v) => {
                    const a = v.attributes || {};
                    if (editing === v.id) {
                        return html`<tr key=${v.id}><td colspan="5">
                            <${VarForm} path=${`${path}/${encodeURIComponent(v.id)}`} current=${v}
                                done=${done} cancel=${() => setEditing(null)} />
                        </td></tr>`;
                    }
                    return html`<tr key=${v.id} data-var=${a.key}>
                        <th scope="row"><code>${a.key}</code></th>
                        <td>${a.sensitive ? html`<span class="muted">Sensitive: write-only</span>`
                            : html`<code>${a.value}</code>`}${a.hcl ? ' (HCL)' : ''}</td>
                        <td>${a.category}</td>
                        <td>${a.description}</td>
                        ${admin && html`<td class="actions">
                            <button type="button" aria-label=${`Edit ${a.key}`} onClick=${() => setEditing(v.id)}>Edit</button>
                            <button class="danger" type="button" aria-label=${`Delete ${a.key}`} disabled=${act.busy}
                                onClick=${() => remove(v)}>Delete</button>
                        </td>`}
                    </tr>`;
                })}</tbody>
            </table></div>`)}
        ${admin && html`<details class="panel">
            <summary>New variable</summary>
            <${VarForm} path=${path} done=${done} />
        </details>`}
    </section>`;
}

/**
 * Creates a variable (no current) or changes one. A sensitive variable's
 * value is never read back: left empty, it stays as it is.
 * @param {{path: string, current?: Resource, done: () => void, cancel?: () => void}} props
 */
function VarForm({ path, current, done, cancel }) {
    const c = (current && current.attributes) || {};
    const [key, setKey] = useState(c.key || '');
    const [value, setValue] = useState(c.sensitive ? '' : c.value || '');
    const [category, setCategory] = useState(c.category || 'terraform');
    const [hcl, setHcl] = useState(!!c.hcl);
    const [sensitive, setSensitive] = useState(!!c.sensitive);
    const [description, setDescription] = useState(c.description || '');
    const act = useAction();

    const submit = async (/** @type {Event} */ e) => {
        e.preventDefault();
        /** @type {Record<string, any>} */
        const attributes = { key, category, hcl, sensitive, description };
        if (!(c.sensitive && value === '')) {
            attributes.value = value;
        }
        const body = { data: { type: 'vars', attributes } };
        if (await act.run(() => (current ? api.patch(path, body) : api.post(path, body)))) {
            if (!current) {
                setKey('');
                setValue('');
                setDescription('');
            }
            done();
        }
    };
    return html`<form class="stack" onSubmit=${submit} aria-label=${current ? `Edit ${c.key}` : 'New variable'}>
        <label>Key <input required value=${key} onInput=${(/** @type {Event} */ e) => setKey(inputValue(e))} /></label>
        <label>Value <input type=${sensitive ? 'password' : 'text'} value=${value} autocomplete="off"
            placeholder=${c.sensitive ? 'unchanged (write-only)' : ''}
            onInput=${(/** @type {Event} */ e) => setValue(inputValue(e))} /></label>
        <label>Category <select value=${category} onChange=${(/** @type {Event} */ e) => setCategory(inputValue(e))}>
            <option value="terraform">terraform (TF_VAR_)</option>
            <option value="env">environment</option>
        </select></label>
        <label class="check"><input type="checkbox" checked=${hcl}
            onChange=${(/** @type {Event} */ e) => setHcl(inputChecked(e))} /> HCL</label>
        <label class="check"><input type="checkbox" checked=${sensitive} disabled=${!!c.sensitive}
            onChange=${(/** @type {Event} */ e) => setSensitive(inputChecked(e))} /> Sensitive (write-only once saved)</label>
        <label>Description <input value=${description}
            onInput=${(/** @type {Event} */ e) => setDescription(inputValue(e))} /></label>
        <${ErrorNote} error=${act.error} />
        <p>
            <button class="primary" type="submit" disabled=${act.busy}>${current ? 'Save variable' : 'Add variable'}</button>
            ${cancel && html` <button type="button" onClick=${cancel}>Cancel</button>`}
        </p>
    </form>`;
}

/** @param {{set: Resource, path: string, admin: boolean, changed: () => void}} props */
function Workspaces({ set, path, admin, changed }) {
    const ids = ((set.relationships && set.relationships.workspaces
        && set.relationships.workspaces.data) || []).map((/** @type {any} */ r) => r.id);
    const key = ids.join(',');
    // the set names its workspaces by id; each is read for its name
    const names = useLoad(() => Promise.all(ids.map((id) => api.get(`/api/v2/workspaces/${encodeURIComponent(id)}`)
        .then((d) => d.data, () => ({ id, attributes: { name: '' } })))), [key]);
    const [name, setName] = useState('');
    const act = useAction();
    const assign = `${path}/relationships/workspaces`;

    /** @param {'POST'|'DELETE'} method @param {string} id */
    const change = (method, id) => api.request(method, assign, { body: { data: [{ type: 'workspaces', id }] } });
    const add = async (/** @type {Event} */ e) => {
        e.preventDefault();
        if (await act.run(async () => {
            const ws = await api.get(`/api/v2/organizations/${ORG}/workspaces/${encodeURIComponent(name.trim())}`);
            await change('POST', ws.data.id);
        })) {
            setName('');
            changed();
        }
    };
    const drop = async (/** @type {string} */ id) => {
        if (await act.run(() => change('DELETE', id))) {
            changed();
        }
    };
    return html`<section aria-labelledby="assigned-h">
        <h2 id="assigned-h">Workspaces</h2>
        <${ErrorNote} error=${names.error || act.error} />
        ${ids.length === 0 ? html`<p>Assigned to no workspace.</p>`
            : html`<ul>${(names.data || []).map((w) => html`<li key=${w.id}>
                ${w.attributes.name ? html`<${Link} to=${workspacePath(w.attributes.name)}>${w.attributes.name}<//>`
                    : html`<code>${w.id}</code>`}
                ${admin && html` <button class="danger" type="button" disabled=${act.busy}
                    aria-label=${`Unassign ${w.attributes.name || w.id}`} onClick=${() => drop(w.id)}>Unassign</button>`}
            </li>`)}</ul>`}
        ${admin && html`<form class="filters" onSubmit=${add}>
            <label>Workspace name <input required value=${name}
                onInput=${(/** @type {Event} */ e) => setName(inputValue(e))} /></label>
            <button type="submit" disabled=${act.busy}>Assign</button>
        </form>`}
    </section>`;
}
