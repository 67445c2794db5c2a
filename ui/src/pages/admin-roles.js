// @ts-check
// Roles and who holds them. Built-in roles (admin, audit, everyone) are
// shown and never changed; platform admins create, change and delete
// custom roles and set a person's roles; auditors read.
import { useState } from 'preact/hooks';
import { html } from '../lib/html.js';
import { api } from '../lib/session.js';
import { useLoad } from '../lib/hooks.js';
import { useAction, confirmed } from '../lib/action.js';
import { isAdmin } from '../lib/account.js';
import { parseLabels, labelsText, splitList, inputValue, inputChecked } from '../lib/forms.js';
import { navigate } from '../lib/nav.js';
import { ErrorNote, Loading, Pager } from '../components/common.js';

/** @typedef {import('../lib/api.js').Resource} Resource */

const ROLES = '/api/terrapod/v1/roles';
const ASSIGNMENTS = '/api/terrapod/v1/role-assignments';
const WS_LEVELS = ['read', 'plan', 'write', 'admin'];
const LEVELS = ['read', 'write', 'admin'];

/** @param {{query: URLSearchParams, account: any}} props */
export function RolesPage({ query, account }) {
    const page = Number(query.get('page')) || 1;
    const roles = useLoad(() => api.list(ROLES, 1, 100), []);
    const admin = isAdmin(account);
    const names = roles.data ? roles.data.data.map((r) => r.id) : [];

    return html`<section>
        <header class="page-head"><h1>Roles</h1></header>
        ${admin && html`<details class="panel">
            <summary>New role</summary>
            <${RoleForm} done=${roles.reload} />
        </details>`}
        <${ErrorNote} error=${roles.error} />
        ${!roles.data && !roles.error && html`<${Loading} />`}
        ${roles.data && html`<${RoleTable} roles=${roles.data.data} admin=${admin} changed=${roles.reload} />`}
        <${Assignments} page=${page} roleNames=${names} admin=${admin} />
    </section>`;
}

/** @param {{roles: Resource[], admin: boolean, changed: () => void}} props */
function RoleTable({ roles, admin, changed }) {
    const [editing, setEditing] = useState(/** @type {string|null} */ (null));
    const act = useAction();
    const remove = async (/** @type {string} */ name) => {
        if (confirmed(`Delete the role ${name}? Whoever holds it loses what it grants.`)
            && await act.run(() => api.del(`${ROLES}/${encodeURIComponent(name)}`))) {
            changed();
        }
    };
    return html`<${ErrorNote} error=${act.error} />
    <div class="table-wrap"><table class="list">
        <thead><tr>
            <th scope="col">Name</th><th scope="col">Workspaces</th><th scope="col">Pools</th>
            <th scope="col">Registry</th><th scope="col">Allow</th><th scope="col">Deny</th>
            ${admin && html`<th scope="col"><span class="visually-hidden">Actions</span></th>`}
        </tr></thead>
        <tbody>${roles.map((r) => {
            const a = r.attributes || {};
            if (editing === r.id) {
                return html`<tr key=${r.id}><td colspan="7">
                    <${RoleForm} current=${r} done=${() => { setEditing(null); changed(); }}
                        cancel=${() => setEditing(null)} />
                </td></tr>`;
            }
            return html`<tr key=${r.id} data-role=${r.id}>
                <th scope="row">${a.name}${a['built-in'] && html` <span class="badge badge-done">built-in</span>`}
                    ${a.description && html`<br /><span class="muted">${a.description}</span>`}</th>
                <td>${a['workspace-permission'] || '—'}</td>
                <td>${a['pool-permission'] || '—'}</td>
                <td>${a['registry-permission'] || '—'}</td>
                <td>${rules(a['allow-labels'], a['allow-names'])}</td>
                <td>${rules(a['deny-labels'], a['deny-names'])}</td>
                ${admin && html`<td class="actions">${!a['built-in'] && html`
                    <button type="button" aria-label=${`Edit ${a.name}`} onClick=${() => setEditing(r.id)}>Edit</button>
                    <button class="danger" type="button" aria-label=${`Delete ${a.name}`} disabled=${act.busy}
                        onClick=${() => remove(a.name)}>Delete</button>`}</td>`}
            </tr>`;
        })}</tbody>
    </table></div>`;
}

/**
 * @param {Record<string, any>|null} labels
 * @param {string[]|null} names
 */
function rules(labels, names) {
    const parts = [labelsText(labels), (names || []).join(', ')].filter(Boolean);
    return parts.length ? parts.join('; ') : html`<span class="muted">—</span>`;
}

/**
 * Creates a role (no current) or changes one. A level left empty is not
 * sent: the role grants nothing on that axis (or keeps its level).
 * @param {{current?: Resource, done: () => void, cancel?: () => void}} props
 */
function RoleForm({ current, done, cancel }) {
    const c = (current && current.attributes) || {};
    const [f, setF] = useState({
        name: c.name || '', description: c.description || '',
        ws: c['workspace-permission'] || '', pool: c['pool-permission'] || '',
        registry: c['registry-permission'] || '',
        allowLabels: labelsText(c['allow-labels']), allowNames: (c['allow-names'] || []).join(', '),
        denyLabels: labelsText(c['deny-labels']), denyNames: (c['deny-names'] || []).join(', '),
    });
    const act = useAction();
    /** @param {keyof typeof f} k */
    const field = (k) => ({ value: f[k], onInput: (/** @type {Event} */ e) => setF({ ...f, [k]: inputValue(e) }) });
    /** @param {string} label @param {keyof typeof f} k @param {string[]} levels */
    const level = (label, k, levels) => html`<label>${label}
        <select ...${field(k)}>
            <option value="">none</option>
            ${levels.map((l) => html`<option value=${l}>${l}</option>`)}
        </select></label>`;

    const submit = async (/** @type {Event} */ e) => {
        e.preventDefault();
        /** @type {Record<string, any>} */
        const attributes = {
            description: f.description,
            'allow-labels': parseLabels(f.allowLabels), 'allow-names': splitList(f.allowNames),
            'deny-labels': parseLabels(f.denyLabels), 'deny-names': splitList(f.denyNames),
        };
        if (f.ws) attributes['workspace-permission'] = f.ws;
        if (f.pool) attributes['pool-permission'] = f.pool;
        if (f.registry) attributes['registry-permission'] = f.registry;
        if (!current) attributes.name = f.name;
        const body = { data: { type: 'roles', attributes } };
        if (await act.run(() => (current ? api.patch(`${ROLES}/${encodeURIComponent(current.id)}`, body)
            : api.post(ROLES, body)))) {
            done();
        }
    };
    return html`<form class="stack" onSubmit=${submit} aria-label=${current ? `Edit ${c.name}` : 'New role'}>
        ${!current && html`<label>Name <input required ...${field('name')} /></label>`}
        <label>Description <input ...${field('description')} /></label>
        ${level('Workspace permission', 'ws', WS_LEVELS)}
        ${level('Agent pool permission', 'pool', LEVELS)}
        ${level('Registry permission', 'registry', LEVELS)}
        <label>Allow labels <input ...${field('allowLabels')} placeholder="env=dev, team=core" /></label>
        <label>Allow names <input ...${field('allowNames')} placeholder="name, name" /></label>
        <label>Deny labels <input ...${field('denyLabels')} placeholder="env=prod" /></label>
        <label>Deny names <input ...${field('denyNames')} placeholder="name, name" /></label>
        <${ErrorNote} error=${act.error} />
        <p>
            <button class="primary" type="submit" disabled=${act.busy}>${current ? 'Save role' : 'Create role'}</button>
            ${cancel && html` <button type="button" onClick=${cancel}>Cancel</button>`}
        </p>
    </form>`;
}

/** @param {{page: number, roleNames: string[], admin: boolean}} props */
function Assignments({ page, roleNames, admin }) {
    const { data, error, reload } = useLoad(() => api.list(ASSIGNMENTS, page, 20), [page]);
    const [provider, setProvider] = useState('local');
    const [email, setEmail] = useState('');
    const [held, setHeld] = useState(/** @type {Set<string>} */ (new Set()));
    const act = useAction();

    /** @param {Resource} ra */
    const edit = (ra) => {
        setProvider(ra.attributes && ra.attributes['provider-name']);
        setEmail(ra.attributes && ra.attributes.email);
        setHeld(new Set(ra.attributes && ra.attributes.roles));
    };
    const put = async (/** @type {Event} */ e) => {
        e.preventDefault();
        if (await act.run(() => api.request('PUT', ASSIGNMENTS, { body: { data: {
            type: 'role-assignments', attributes: { 'provider-name': provider, email, roles: [...held] } } } }))) {
            setEmail('');
            setHeld(new Set());
            reload();
        }
    };
    /** @param {Record<string, any>} a @param {string} role */
    const drop = async (a, role) => {
        const path = [a['provider-name'], a.email, role].map(encodeURIComponent).join('/');
        if (await act.run(() => api.del(`${ASSIGNMENTS}/${path}`))) {
            reload();
        }
    };
    return html`<section aria-labelledby="ra-h">
        <h2 id="ra-h">Role assignments</h2>
        <${ErrorNote} error=${error || act.error} />
        ${admin && html`<form class="stack" onSubmit=${put} aria-label="Set a person's roles">
            <label>Provider <input required value=${provider}
                onInput=${(/** @type {Event} */ e) => setProvider(inputValue(e))} /></label>
            <label>Email <input type="email" required value=${email}
                onInput=${(/** @type {Event} */ e) => setEmail(inputValue(e))} /></label>
            <fieldset><legend>Roles (replace what the person holds)</legend>
                ${roleNames.filter((n) => n !== 'everyone').map((n) => html`<label class="check"><input type="checkbox"
                    checked=${held.has(n)} onChange=${(/** @type {Event} */ e) => {
                        const s = new Set(held);
                        if (inputChecked(e)) s.add(n); else s.delete(n);
                        setHeld(s);
                    }} /> ${n}</label>`)}
            </fieldset>
            <p><button class="primary" type="submit" disabled=${act.busy}>Set roles</button></p>
        </form>`}
        ${data && (data.data.length === 0 ? html`<p>Nobody holds a role.</p>`
            : html`<div class="table-wrap"><table class="list">
                <thead><tr>
                    <th scope="col">Email</th><th scope="col">Provider</th><th scope="col">Roles</th>
                    ${admin && html`<th scope="col"><span class="visually-hidden">Actions</span></th>`}
                </tr></thead>
                <tbody>${data.data.map((ra) => {
                    const a = ra.attributes || {};
                    return html`<tr key=${ra.id} data-assignment=${a.email}>
                        <th scope="row">${a.email}</th>
                        <td>${a['provider-name']}</td>
                        <td>${(a.roles || []).map((/** @type {string} */ r) => html`<span class="label">${r}${admin && html` <button
                            type="button" class="link" aria-label=${`Take ${r} from ${a.email}`}
                            onClick=${() => drop(a, r)}>×</button>`}</span> `)}</td>
                        ${admin && html`<td><button type="button" aria-label=${`Change the roles of ${a.email}`}
                            onClick=${() => edit(ra)}>Change</button></td>`}
                    </tr>`;
                })}</tbody>
            </table></div>`)}
        ${data && html`<${Pager} pagination=${data.pagination} noun="people"
            go=${(/** @type {number} */ p) => navigate(`/app/admin/roles?page=${p}`, { replace: true })} />`}
    </section>`;
}
