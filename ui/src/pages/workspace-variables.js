// @ts-check
// A workspace's variables tab: its own variables (added, changed and
// deleted by people with can-update-variable; sensitive values are
// write-only and never shown), and what its runs receive once variable
// sets are applied (all-vars), read-only.
import { useState } from 'preact/hooks';
import { html } from '../lib/html.js';
import { api } from '../lib/session.js';
import { useLoad } from '../lib/hooks.js';
import { useAction } from '../lib/action.js';
import { can } from '../lib/perms.js';
import { varForm, varAttributes } from '../lib/workspace-forms.js';
import { WorkspaceShell } from '../components/workspace-shell.js';
import { ErrorNote, Loading, Pager } from '../components/common.js';
import { ConfirmButton } from '../components/confirm.js';
import { useReloadOn } from '../components/workspace-tab.js';

/**
 * @typedef {import('../lib/api.js').Resource} Resource
 * @typedef {import('../components/workspace-shell.js').ShellContext} ShellContext
 */

const PAGE_SIZE = 50;
const CATEGORIES = { terraform: 'Terraform', env: 'Environment' };

/** @param {{params: {name: string}}} props */
export function WorkspaceVariablesPage({ params }) {
    return html`<${WorkspaceShell} name=${params.name} tab="variables">
        ${(/** @type {Resource} */ ws, /** @type {ShellContext} */ ctx) => html`<${Variables} ws=${ws} ctx=${ctx} />`}
    <//>`;
}

/** @param {{ws: Resource, ctx: ShellContext}} props */
function Variables({ ws, ctx }) {
    const [page, setPage] = useState(1);
    const [editing, setEditing] = useState(/** @type {{var?: Resource} | null} */ (null));
    const own = useLoad(() => api.list(`/api/v2/workspaces/${ws.id}/vars`, page, PAGE_SIZE), [ws.id, page]);
    const all = useLoad(() => api.get(`/api/v2/workspaces/${ws.id}/all-vars`), [ws.id]);
    const del = useAction();
    const writable = can(ws, 'can-update-variable');
    const reload = () => {
        own.reload();
        all.reload();
    };
    useReloadOn(ctx, ['workspace_variable_change'], reload);

    /** @param {Resource} v */
    const remove = (v) => del.run(async () => {
        await api.del(`/api/v2/workspaces/${ws.id}/vars/${v.id}`);
        if (editing && editing.var && editing.var.id === v.id) {
            setEditing(null);
        }
        reload();
    });

    return html`<section aria-labelledby="vars-own">
            <h2 id="vars-own">Workspace variables</h2>
            <p class="muted">Terraform variables reach runs as <code>TF_VAR_key</code>, environment variables as they
                are. Sensitive values are write-only: nobody can read them back here or through the API.</p>
            <${ErrorNote} error=${own.error || del.error} />
            ${!own.data && !own.error && html`<${Loading} />`}
            ${own.data && html`<${VarTable} vars=${own.data.data} writable=${writable} busy=${del.busy}
                    onEdit=${(/** @type {Resource} */ v) => setEditing({ var: v })} onDelete=${remove} />
                ${own.data.pagination['total-pages'] > 1 && html`<${Pager} pagination=${own.data.pagination}
                    go=${setPage} noun="variables" />`}`}
            ${writable && !editing && html`<p>
                <button type="button" onClick=${() => setEditing({})}>Add variable</button>
            </p>`}
            ${writable && editing && html`<${VarEditor} key=${editing.var ? editing.var.id : 'new'} ws=${ws}
                existing=${editing.var} onDone=${() => {
                    setEditing(null);
                    reload();
                }} onCancel=${() => setEditing(null)} />`}
        </section>
        <section aria-labelledby="vars-all">
            <h2 id="vars-all">What runs receive</h2>
            <p class="muted">This workspace's variables over those of the variable sets applied to it.</p>
            <${ErrorNote} error=${all.error} />
            ${all.data && html`<${EffectiveTable} ws=${ws} vars=${all.data.data} />`}
        </section>`;
}

/** @param {{v: Resource}} props */
function Value({ v }) {
    const a = v.attributes || {};
    if (a.sensitive) {
        return html`<span class="muted">Sensitive: write-only</span>`;
    }
    return a.value === '' ? html`<span class="muted">(empty)</span>` : html`<code class="value">${a.value}</code>`;
}

/**
 * @param {{vars: Resource[], writable: boolean, busy: boolean, onEdit: (v: Resource) => void,
 *   onDelete: (v: Resource) => any}} props
 */
function VarTable({ vars, writable, busy, onEdit, onDelete }) {
    if (vars.length === 0) {
        return html`<p>This workspace has no variables of its own.</p>`;
    }
    return html`<div class="table-wrap"><table class="list">
        <thead><tr>
            <th scope="col">Key</th><th scope="col">Value</th><th scope="col">Category</th>
            <th scope="col">HCL</th><th scope="col">Description</th>
            ${writable && html`<th scope="col"><span class="visually-hidden">Actions</span></th>`}
        </tr></thead>
        <tbody>${vars.map((v) => {
            const a = v.attributes || {};
            return html`<tr key=${v.id} data-var=${a.key}>
                <th scope="row"><code>${a.key}</code></th>
                <td><${Value} v=${v} /></td>
                <td>${CATEGORIES[/** @type {'terraform'|'env'} */ (a.category)] || a.category}</td>
                <td>${a.hcl ? 'Yes' : 'No'}</td>
                <td>${a.description}</td>
                ${writable && html`<td class="row-actions">
                    <button type="button" onClick=${() => onEdit(v)}
                        aria-label=${`Edit ${a.key}`}>Edit</button>
                    <${ConfirmButton} label="Delete" danger disabled=${busy}
                        question=${`Delete variable ${a.key}?`} yes="Delete" onConfirm=${() => onDelete(v)} />
                </td>`}
            </tr>`;
        })}</tbody>
    </table></div>`;
}

/**
 * @param {{ws: Resource, existing?: Resource, onDone: () => void, onCancel: () => void}} props
 */
function VarEditor({ ws, existing, onDone, onCancel }) {
    const before = existing && existing.attributes;
    const [form, setForm] = useState(() => varForm(before));
    const save = useAction();
    const keptSecret = !!(before && before.sensitive);
    /** @param {keyof typeof form} name @param {any} value */
    const set = (name, value) => setForm({ ...form, [name]: value });
    const title = existing ? `Edit variable ${before && before.key}` : 'Add a variable';

    /** @param {Event} e */
    const submit = async (e) => {
        e.preventDefault();
        const body = { data: { type: 'vars', attributes: varAttributes(form, before) } };
        const ok = await save.run(() => (existing
            ? api.patch(`/api/v2/workspaces/${ws.id}/vars/${existing.id}`, body)
            : api.post(`/api/v2/workspaces/${ws.id}/vars`, body)));
        if (ok) {
            onDone();
        }
    };

    return html`<form class="editor" onSubmit=${submit} aria-labelledby="var-editor">
        <h3 id="var-editor">${title}</h3>
        <label>Key <input name="key" required value=${form.key} autocomplete="off" spellcheck=${false}
            onInput=${(/** @type {any} */ e) => set('key', e.currentTarget.value)} /></label>
        <label>Value
            <textarea name="value" rows="3" value=${form.value} autocomplete="off" spellcheck=${false}
                aria-describedby=${keptSecret ? 'var-value-hint' : undefined}
                onInput=${(/** @type {any} */ e) => set('value', e.currentTarget.value)}></textarea>
        </label>
        ${keptSecret && html`<p class="hint" id="var-value-hint">The current value is hidden. Leave this empty to keep
            it; anything typed here replaces it.</p>`}
        <fieldset>
            <legend>Category</legend>
            ${Object.entries(CATEGORIES).map(([value, label]) => html`<label class="inline">
                <input type="radio" name="category" value=${value} checked=${form.category === value}
                    onChange=${() => set('category', value)} /> ${label}</label>`)}
        </fieldset>
        <label class="inline"><input type="checkbox" name="hcl" checked=${form.hcl}
            onChange=${(/** @type {any} */ e) => set('hcl', e.currentTarget.checked)} /> HCL (the value is an HCL
            expression)</label>
        <label class="inline"><input type="checkbox" name="sensitive" checked=${form.sensitive} disabled=${keptSecret}
            aria-describedby=${keptSecret ? 'var-sensitive-hint' : undefined}
            onChange=${(/** @type {any} */ e) => set('sensitive', e.currentTarget.checked)} /> Sensitive
            (write-only)</label>
        ${keptSecret && html`<p class="hint" id="var-sensitive-hint">A sensitive variable stays sensitive; delete
            it and add it again to make it plain.</p>`}
        <label>Description <input name="description" value=${form.description}
            onInput=${(/** @type {any} */ e) => set('description', e.currentTarget.value)} /></label>
        <${ErrorNote} error=${save.error} />
        <p class="buttons">
            <button type="submit" class="primary" disabled=${save.busy}>${existing ? 'Save variable' : 'Add variable'}</button>
            <button type="button" onClick=${onCancel}>Cancel</button>
        </p>
    </form>`;
}

/** @param {{ws: Resource, vars: Resource[]}} props */
function EffectiveTable({ ws, vars }) {
    if (vars.length === 0) {
        return html`<p>Runs of this workspace receive no variables.</p>`;
    }
    return html`<div class="table-wrap"><table class="list" data-testid="all-vars">
        <thead><tr>
            <th scope="col">Key</th><th scope="col">Value</th><th scope="col">Category</th><th scope="col">From</th>
        </tr></thead>
        <tbody>${vars.map((v) => {
            const a = v.attributes || {};
            const from = v.relationships && v.relationships.configurable && v.relationships.configurable.data;
            return html`<tr key=${v.id}>
                <th scope="row"><code>${a.key}</code></th>
                <td><${Value} v=${v} /></td>
                <td>${CATEGORIES[/** @type {'terraform'|'env'} */ (a.category)] || a.category}</td>
                <td>${!from || (from.type === 'workspaces' && from.id === ws.id) ? 'This workspace'
                    : html`Variable set <code>${from.id}</code>`}</td>
            </tr>`;
        })}</tbody>
    </table></div>`;
}
