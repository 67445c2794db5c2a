// @ts-check
// A workspace's settings tab: what PATCH workspaces takes (name, project,
// how and where runs execute, run behaviour, the repository it follows,
// drift detection, plan summaries), its labels (a change that would lower the editor's own
// access is refused by the server until confirmed), its run triggers and
// remote-state consumers, and deleting it.
// People without can-update see the settings without the controls.
import { useEffect, useRef, useState } from 'preact/hooks';
import { html } from '../lib/html.js';
import { api } from '../lib/session.js';
import { useLoad } from '../lib/hooks.js';
import { useAction } from '../lib/action.js';
import { can } from '../lib/perms.js';
import { isAdmin } from '../lib/account.js';
import { VCS_CONNECTIONS } from '../lib/vcs.js';
import { labelList } from '../lib/format.js';
import { navigate } from '../lib/nav.js';
import { ORG, HOME, workspacePath } from '../lib/paths.js';
import { toField, fromField, changedAttributes, labelRows, labelsFromRows } from '../lib/workspace-forms.js';
import { WorkspaceShell } from '../components/workspace-shell.js';
import { ErrorNote } from '../components/common.js';
import { FieldControl } from '../components/field.js';
import { ConfirmButton } from '../components/confirm.js';
import { connectionOf, useVcsRefs, RefOptions } from '../components/vcs-refs.js';
import { Notifications } from '../components/notifications.js';
import { RunTriggers, RemoteStateConsumers } from '../components/workspace-links.js';
import '../components/workspace-tabs.css';

/**
 * @typedef {import('../lib/api.js').Resource} Resource
 * @typedef {import('../components/workspace-shell.js').ShellContext} ShellContext
 * @typedef {import('../lib/workspace-forms.js').FieldKind} FieldKind
 * @typedef {import('../components/field.js').Field} Field
 */

/** The settings, in the groups the form shows them in. */
const GROUPS = /** @type {{legend: string, fields: Field[]}[]} */ ([
    { legend: 'General', fields: [
        { name: 'name', label: 'Name', kind: 'text', hint: 'Letters, digits, - and _; terraform finds the workspace by it.' },
        { name: 'description', label: 'Description', kind: 'text', long: true },
    ] },
    { legend: 'Execution', fields: [
        { name: 'execution-mode', label: 'Execution mode', kind: 'text',
          options: [['agent', 'Agent: runs on a listener of an agent pool'], ['local', 'Local: terraform runs where it is started']] },
        { name: 'agent-pool-id', label: 'Agent pool', kind: 'nullable', show: (f) => f['execution-mode'] === 'agent' },
        { name: 'execution-backend', label: 'Backend', kind: 'text',
          options: [['terraform', 'Terraform'], ['tofu', 'OpenTofu']] },
        { name: 'terraform-version', label: 'Version', kind: 'text',
          hint: 'A version, a constraint such as ~> 1.9, or latest.' },
        { name: 'resource-cpu', label: 'CPU per run', kind: 'text', hint: 'Such as 1 or 500m.' },
        { name: 'resource-memory', label: 'Memory per run', kind: 'text', hint: 'Such as 2Gi or 512Mi.' },
    ] },
    { legend: 'Runs', fields: [
        { name: 'auto-apply', label: 'Apply automatically when a plan succeeds', kind: 'bool' },
        { name: 'allow-destroy-plan', label: 'Allow destroy runs', kind: 'bool' },
        { name: 'queue-all-runs', label: 'Queue all runs', kind: 'bool' },
        { name: 'global-remote-state', label: 'Share state with every workspace', kind: 'bool' },
    ] },
    { legend: 'Version control', fields: [
        { name: 'vcs-repo-url', label: 'Repository URL', kind: 'text',
          hint: "The repository's address on its provider, such as https://github.com/OWNER/REPO." },
        { name: 'vcs-branch', label: 'Branch', kind: 'text', hint: 'The branch runs follow; empty for the default branch.' },
        { name: 'working-directory', label: 'Working directory', kind: 'text',
          hint: 'A relative path inside the configuration; empty for its root.' },
        { name: 'file-triggers-enabled', label: 'Run only when files under the trigger prefixes change', kind: 'bool' },
        { name: 'trigger-prefixes', label: 'Trigger prefixes', kind: 'lines',
          hint: 'One path a line, besides the working directory.' },
        { name: 'speculative-enabled', label: 'Plan pull and merge requests (speculative plans)', kind: 'bool' },
    ] },
    { legend: 'Drift detection', fields: [
        { name: 'drift-detection-enabled', label: 'Check for drift regularly', kind: 'bool' },
        { name: 'drift-detection-interval-seconds', label: 'Interval in seconds', kind: 'int',
          hint: 'At least 3600 (an hour).' },
        { name: 'drift-ignore-rules', label: 'Ignore rules', kind: 'lines',
          hint: 'One address a line, optionally with an attribute path; * and [*] match any name or index.' },
    ] },
    { legend: 'Plan summaries', fields: [
        { name: 'ai-summary-mode', label: 'Summaries of plans', kind: 'text',
          options: [['default', 'As the instance decides'], ['enabled', 'Always'], ['disabled', 'Never']] },
        { name: 'ai-summary-context', label: 'Context for summaries', kind: 'text', long: true },
    ] },
]);

const FIELDS = GROUPS.flatMap((g) => g.fields);
/** @type {Record<string, FieldKind>} */
const KINDS = Object.fromEntries(FIELDS.map((f) => [f.name, f.kind]));

/**
 * The form's fields for a workspace's attributes.
 * @param {Record<string, any>} a
 * @returns {Record<string, any>}
 */
function formOf(a) {
    return Object.fromEntries(FIELDS.map((f) => [f.name, toField(f.kind, a[f.name])]));
}

/** @param {Resource} ws */
function projectOf(ws) {
    const rel = ws.relationships && ws.relationships.project;
    return (rel && rel.data && rel.data.id) || '';
}

/**
 * The options of a choice among resources (projects, pools) by name; the
 * current one stays a choice under its id when the list does not hold it
 * (past its first page, or not readable).
 * @param {Resource[]} list
 * @param {string} current
 */
function choices(list, current) {
    const known = list.some((p) => p.id === current);
    return [...(current && !known ? [html`<option value=${current}>${current}</option>`] : []),
        ...list.map((p) => html`<option value=${p.id}>${p.attributes && p.attributes.name}</option>`)];
}

/** @param {{params: {name: string}, account: any}} props */
export function WorkspaceSettingsPage({ params, account }) {
    return html`<${WorkspaceShell} name=${params.name} tab="settings">
        ${(/** @type {Resource} */ ws, /** @type {ShellContext} */ ctx) => html`<${Settings} ws=${ws} ctx=${ctx}
            admin=${isAdmin(account)} />`}
    <//>`;
}

/** @param {{ws: Resource, ctx: ShellContext, admin: boolean}} props */
function Settings({ ws, ctx, admin }) {
    // live: the shell reads the workspace again on workspace_updated, and
    // the forms follow it (useSyncedForm)
    return html`<${SettingsForm} ws=${ws} ctx=${ctx} admin=${admin} />
        <${Labels} ws=${ws} ctx=${ctx} />
        <${Notifications} ws=${ws} />
        <${RunTriggers} ws=${ws} ctx=${ctx} />
        <${RemoteStateConsumers} ws=${ws} ctx=${ctx} />
        ${can(ws, 'can-destroy') && html`<${DeleteWorkspace} ws=${ws} />`}`;
}

/**
 * Keeps a form in step with the resource it edits: when the resource
 * changes (a live update, or the person's own save), the form follows it
 * unless the person has changes in it that the new version does not hold.
 * After a save, adopt() makes it take the next version whatever it holds
 * (the server may change more than was sent: binding a repository turns
 * drift detection on).
 * @template T
 * @param {() => T} make the form for the resource as it is now
 * @param {any} resource what the form is made from, compared as JSON
 * @param {(a: T, b: T) => boolean} [same] whether two forms say the same
 * @returns {[T, (f: T) => void, () => void]}
 */
function useSyncedForm(make, resource, same = (a, b) => JSON.stringify(a) === JSON.stringify(b)) {
    const [state, setState] = useState(() => ({ form: make(), made: make() }));
    const adopting = useRef(false);
    useEffect(() => {
        const next = make();
        const take = adopting.current;
        adopting.current = false;
        setState((s) => (take || same(s.form, s.made) || same(s.form, next) ? { form: next, made: next } : s));
    }, [JSON.stringify(resource)]);
    return [state.form, (form) => {
        adopting.current = false;
        setState((s) => ({ ...s, form }));
    }, () => {
        adopting.current = true;
    }];
}

/**
 * @typedef {{fields: Record<string, any>, project: string, connection: string}} SettingsState
 */

/**
 * Whether two settings forms send the same thing.
 * @param {SettingsState} a
 * @param {SettingsState} b
 */
function sameSettings(a, b) {
    const sent = (/** @type {Record<string, any>} */ f) => JSON.stringify(FIELDS.map((x) => fromField(x.kind, f[x.name])));
    return a.project === b.project && a.connection === b.connection && sent(a.fields) === sent(b.fields);
}

/** @param {{ws: Resource, ctx: ShellContext, admin: boolean}} props */
function SettingsForm({ ws, ctx, admin }) {
    const a = ws.attributes || {};
    const editable = can(ws, 'can-update');
    const [form, setForm, adopt] = useSyncedForm(() => ({ fields: formOf(a), project: projectOf(ws),
        connection: connectionOf(ws) }), [a, projectOf(ws), connectionOf(ws)], sameSettings);
    const [saved, setSaved] = useState(false);
    const save = useAction();
    const projects = useLoad(() => api.list(`/api/v2/organizations/${ORG}/projects`, 1, 100), []);
    const pools = useLoad(() => (editable ? api.list(`/api/v2/organizations/${ORG}/agent-pools`, 1, 100)
        : Promise.resolve(null)), [editable]);
    // the API lists connections to platform admins alone; others see the
    // bound one by its id
    const connections = useLoad(() => (editable && admin ? api.list(VCS_CONNECTIONS, 1, 100)
        : Promise.resolve(null)), [editable, admin]);
    const refs = useVcsRefs(ws);
    const changes = changedAttributes(KINDS, a, form.fields);
    const projectChanged = form.project !== projectOf(ws);
    const connectionChanged = form.connection !== connectionOf(ws);

    /** @param {string} name @param {any} value */
    const set = (name, value) => {
        setSaved(false);
        setForm({ ...form, fields: { ...form.fields, [name]: value } });
    };
    /** @param {Event} e */
    const submit = async (e) => {
        e.preventDefault();
        /** @type {any} */
        const data = { type: 'workspaces', attributes: changes };
        if (projectChanged || connectionChanged) {
            data.relationships = {
                ...(projectChanged ? { project: { data: { type: 'projects', id: form.project } } } : {}),
                ...(connectionChanged ? { 'vcs-connection': {
                    data: form.connection ? { type: 'vcs-connections', id: form.connection } : null } } : {}),
            };
        }
        /** @type {Resource | null} */
        let updated = null;
        const ok = await save.run(async () => {
            updated = (await api.patch(`/api/v2/workspaces/${ws.id}`, { data })).data;
        });
        if (!ok || !updated) {
            return;
        }
        setSaved(true);
        const name = /** @type {Resource} */ (updated).attributes?.name;
        if (name && name !== a.name) {
            navigate(workspacePath(name, 'settings'), { replace: true });
        } else {
            adopt();
            ctx.reload();
        }
    };

    /** @param {Field} f */
    const control = (f) => {
        if (f.show && !f.show(form.fields)) {
            return null;
        }
        const value = form.fields[f.name];
        let options = null;
        if (f.name === 'agent-pool-id') {
            options = html`<option value="">The pool named default</option>
                ${choices(pools.data ? pools.data.data : [], value)}`;
        } else if (f.name === 'vcs-branch' && refs.data) {
            options = html`<${RefOptions} refs=${refs.data} current=${value}
                first=${`The default branch (${refs.data.defaultBranch})`} />`;
        }
        return html`<${FieldControl} f=${f} value=${value} set=${set} prefix="setting" choices=${options} />`;
    };
    const disconnect = async () => {
        if (await save.run(() => api.patch(`/api/v2/workspaces/${ws.id}`, { data: { type: 'workspaces',
            relationships: { 'vcs-connection': { data: null } } } }))) {
            adopt();
            ctx.reload();
        }
    };
    /** The connection: a choice among those the person may list. */
    const connectionField = () => html`<div class="field">
        <label for="setting-vcs-connection">Connection</label>
        <select id="setting-vcs-connection" name="vcs-connection" value=${form.connection}
            disabled=${!admin}
            onChange=${(/** @type {any} */ e) => {
                setSaved(false);
                setForm({ ...form, connection: e.currentTarget.value });
            }}>
            <option value="">None: runs use uploaded configurations</option>
            ${choices(connections.data ? connections.data.data : [], form.connection)}
        </select>
        ${!admin && html`<span class="hint">Platform admins bind workspaces to connections.</span>`}
        ${editable && connectionOf(ws) && html`<span><${ConfirmButton} label="Disconnect" disabled=${save.busy}
            question="Disconnect this workspace from its repository?" yes="Disconnect" onConfirm=${disconnect} /></span>`}
        ${connectionOf(ws) && refs.error && html`<span class="hint error-text">The repository's branches
            could not be read: ${refs.error.message}</span>`}
    </div>`;

    return html`<section aria-labelledby="settings-form">
        <h2 id="settings-form">Settings</h2>
        <form class="settings" onSubmit=${submit}>
            <fieldset disabled=${!editable} class="plain">
                ${GROUPS.map((g) => html`<fieldset>
                    <legend>${g.legend}</legend>
                    ${g.legend === 'Version control' && connectionField()}
                    ${g.fields.map(control)}
                    ${g.legend === 'General' && html`<div class="field">
                        <label for="setting-project">Project</label>
                        <select id="setting-project" name="project" value=${form.project}
                            onChange=${(/** @type {any} */ e) => {
                                setSaved(false);
                                setForm({ ...form, project: e.currentTarget.value });
                            }}>
                            ${choices(projects.data ? projects.data.data : [], form.project)}
                        </select>
                    </div>`}
                </fieldset>`)}
            </fieldset>
            <${ErrorNote} error=${save.error || projects.error || connections.error} />
            ${editable && html`<p class="buttons">
                <button type="submit" class="primary"
                    disabled=${save.busy || (Object.keys(changes).length === 0 && !projectChanged
                        && !connectionChanged)}>Save settings</button>
                ${saved && html`<span role="status">Settings saved.</span>`}
            </p>`}
        </form>
    </section>`;
}

/**
 * Whether two lists of label rows say the same labels, in any order.
 * @param {import('../lib/workspace-forms.js').LabelRow[]} a
 * @param {import('../lib/workspace-forms.js').LabelRow[]} b
 */
function sameLabels(a, b) {
    const canonical = (/** @type {import('../lib/workspace-forms.js').LabelRow[]} */ rows) => {
        const r = labelsFromRows(rows);
        return JSON.stringify('labels' in r ? labelRows(r.labels) : rows);
    };
    return canonical(a) === canonical(b);
}

/** @param {{ws: Resource, ctx: ShellContext}} props */
function Labels({ ws, ctx }) {
    const a = ws.attributes || {};
    const [rows, setRows] = useSyncedForm(() => labelRows(a.labels), a.labels, sameLabels);
    const [saved, setSaved] = useState(false);
    const save = useAction();
    const parsed = labelsFromRows(rows);

    if (!can(ws, 'can-update')) {
        const list = labelList(a.labels);
        return html`<section aria-labelledby="settings-labels">
            <h2 id="settings-labels">Labels</h2>
            ${list.length === 0 ? html`<p>No labels.</p>`
                : html`<p>${list.map((l) => html`<span class="label">${l}</span> `)}</p>`}
        </section>`;
    }

    /** @param {boolean} force */
    const send = async (force) => {
        if (!('labels' in parsed)) {
            return;
        }
        setSaved(false);
        // a 409 says the change would lower the editor's own access (the
        // server says how): shown below, it is sent again with force only
        // when the person confirms
        const ok = await save.run(() => api.patch(`/api/v2/workspaces/${ws.id}`, { data: {
            type: 'workspaces', attributes: force ? { labels: parsed.labels, force: true } : { labels: parsed.labels },
        } }));
        if (ok) {
            setSaved(true);
            ctx.reload();
        }
    };
    /** @param {number} i @param {'key'|'value'} part @param {string} text */
    const edit = (i, part, text) => {
        setSaved(false);
        save.clear();
        setRows(rows.map((r, j) => (j === i ? { ...r, [part]: text } : r)));
    };

    return html`<section aria-labelledby="settings-labels">
        <h2 id="settings-labels">Labels</h2>
        <p class="muted">Roles grant access by labels: changing them may change who can see and change this
            workspace, you included.</p>
        <form class="settings" onSubmit=${(/** @type {Event} */ e) => {
            e.preventDefault();
            send(false);
        }}>
            <ul class="label-rows">${rows.map((r, i) => html`<li key=${i}>
                <label>Key <input value=${r.key} onInput=${(/** @type {any} */ e) => edit(i, 'key', e.currentTarget.value)}
                    aria-label=${`Label ${i + 1} key`} /></label>
                <label>Value <input value=${r.value}
                    onInput=${(/** @type {any} */ e) => edit(i, 'value', e.currentTarget.value)}
                    aria-label=${`Label ${i + 1} value`} /></label>
                <button type="button" onClick=${() => {
                    save.clear();
                    setRows(rows.filter((_, j) => j !== i));
                }} aria-label=${`Remove label ${r.key || i + 1}`}>Remove</button>
            </li>`)}</ul>
            <p class="buttons">
                <button type="button" onClick=${() => setRows([...rows, { key: '', value: '' }])}>Add label</button>
                <button type="submit" class="primary" disabled=${save.busy || !('labels' in parsed)}>Save labels</button>
                ${saved && html`<span role="status">Labels saved.</span>`}
            </p>
            ${'error' in parsed && html`<p class="error" role="alert">${parsed.error}</p>`}
            ${save.error && save.error.status === 409 && html`<div class="error" role="alertdialog"
                    aria-labelledby="labels-lockout">
                <p id="labels-lockout">${save.error.message}</p>
                <p class="buttons">
                    <button type="button" class="danger" onClick=${() => send(true)}>Change labels anyway</button>
                    <button type="button" onClick=${() => save.clear()}>Keep the labels</button>
                </p>
            </div>`}
            ${save.error && save.error.status !== 409 && html`<${ErrorNote} error=${save.error} />`}
        </form>
    </section>`;
}

/** @param {{ws: Resource}} props */
function DeleteWorkspace({ ws }) {
    const name = (ws.attributes || {}).name;
    const [typed, setTyped] = useState('');
    const del = useAction();
    /** @param {boolean} safe */
    const remove = async (safe) => {
        const ok = await del.run(() => (safe ? api.post(`/api/v2/workspaces/${ws.id}/actions/safe-delete`)
            : api.del(`/api/v2/workspaces/${ws.id}`)));
        if (ok) {
            navigate(HOME);
        }
    };
    return html`<section class="danger-zone" aria-labelledby="settings-delete">
        <h2 id="settings-delete">Delete this workspace</h2>
        <p>Deleting removes the workspace with its runs, variables, state versions and configurations.
            A safe delete is refused while its state still manages resources.</p>
        <div class="field">
            <label for="delete-confirm">Type <strong>${name}</strong> to confirm</label>
            <input id="delete-confirm" value=${typed} autocomplete="off" spellcheck=${false}
                onInput=${(/** @type {any} */ e) => setTyped(e.currentTarget.value)} />
        </div>
        <${ErrorNote} error=${del.error} />
        <p class="buttons">
            <button type="button" class="danger" disabled=${typed !== name || del.busy}
                onClick=${() => remove(true)}>Safe delete</button>
            <button type="button" class="danger" disabled=${typed !== name || del.busy}
                onClick=${() => remove(false)}>Delete, resources or not</button>
        </p>
    </section>`;
}
