// @ts-check
// What the autodiscovery pages share: a rule's form (the attributes the
// workspaces it creates receive), and a preview's table.
import { useState } from 'preact/hooks';
import { html } from '../lib/html.js';
import { api } from '../lib/session.js';
import { useLoad } from '../lib/hooks.js';
import { useAction } from '../lib/action.js';
import { labelsText } from '../lib/forms.js';
import { toField } from '../lib/workspace-forms.js';
import { ORG } from '../lib/paths.js';
import { VCS_CONNECTIONS, AUTODISCOVERY_RULES, previewRows, ruleAttributes } from '../lib/vcs.js';
import { ErrorNote } from './common.js';
import { FieldControl } from './field.js';

/**
 * @typedef {import('../lib/api.js').Resource} Resource
 * @typedef {import('./field.js').Field} Field
 */

/** A rule's fields, in the groups the form shows them in. */
const GROUPS = /** @type {{legend: string, fields: Field[]}[]} */ ([
    { legend: 'Where', fields: [
        { name: 'name', label: 'Name', kind: 'text', required: true },
        { name: 'vcs-connection-id', label: 'Connection', kind: 'text' },
        { name: 'repo-url', label: 'Repository URL', kind: 'text', required: true,
          hint: 'Such as https://github.com/OWNER/REPO.' },
        { name: 'branch', label: 'Branch', kind: 'text', hint: 'Empty for the default branch.' },
        { name: 'pattern', label: 'Pattern', kind: 'text', required: true,
          hint: 'The files that make a directory a workspace, such as accounts/*/**/*.tf.' },
        { name: 'ignore-patterns', label: 'Ignore patterns', kind: 'lines', hint: 'One a line, such as modules/**.' },
        { name: 'name-template', label: 'Name template', kind: 'text',
          hint: 'The name of each workspace: {path} (the directory, / as -), {dir} (its last part), {repo}.' },
        { name: 'enabled', label: 'Enabled: pushes and pull requests create workspaces', kind: 'bool' },
        { name: 'on-directory-delete', label: 'When a directory is removed', kind: 'text',
          options: [['flag', 'Flag its workspace for deletion'], ['destroy', 'Destroy its resources, then archive it']] },
    ] },
    { legend: 'The workspaces it creates', fields: [
        { name: 'execution-mode', label: 'Execution mode', kind: 'text',
          options: [['agent', 'Agent'], ['local', 'Local']] },
        { name: 'execution-backend', label: 'Backend', kind: 'text',
          options: [['terraform', 'Terraform'], ['tofu', 'OpenTofu']] },
        { name: 'agent-pool-id', label: 'Agent pool', kind: 'nullable' },
        { name: 'terraform-version', label: 'Version', kind: 'text' },
        { name: 'resource-cpu', label: 'CPU per run', kind: 'text' },
        { name: 'resource-memory', label: 'Memory per run', kind: 'text' },
        { name: 'auto-apply', label: 'Apply automatically', kind: 'bool' },
        { name: 'owner-email', label: 'Owner email', kind: 'text' },
        { name: 'var-files', label: 'Var files', kind: 'lines', hint: 'One path a line.' },
    ] },
]);
const FIELDS = GROUPS.flatMap((g) => g.fields);
/** @type {Record<string, import('../lib/workspace-forms.js').FieldKind>} */
const KINDS = Object.fromEntries(FIELDS.map((f) => [f.name, f.kind]));
/** A new rule's form: what the server would choose. */
const DEFAULTS = { enabled: true, 'on-directory-delete': 'flag', 'execution-mode': 'agent',
    'execution-backend': 'terraform' };

/**
 * @param {Resource[]} list
 * @param {string} current
 * @param {string} none the choice of nothing
 */
function options(list, current, none) {
    const known = !current || list.some((r) => r.id === current);
    return html`<option value="">${none}</option>
        ${!known && html`<option value=${current}>${current}</option>`}
        ${list.map((r) => html`<option value=${r.id}>${r.attributes && r.attributes.name}</option>`)}`;
}

/**
 * Creates a rule (no current) or changes one; "Preview" shows what the
 * form as it is would create, saved or not.
 * @param {{current?: Resource, send: (attributes: Record<string, any>) => Promise<any>,
 *   preview: (attributes: Record<string, any>) => void}} props
 */
export function RuleForm({ current, send, preview }) {
    const a = (current && current.attributes) || DEFAULTS;
    const [form, setForm] = useState(() => ({
        ...Object.fromEntries(FIELDS.map((f) => [f.name, toField(f.kind, /** @type {any} */ (a)[f.name])])),
        labels: labelsText(/** @type {any} */ (a).labels),
    }));
    const [saved, setSaved] = useState(false);
    const act = useAction();
    const connections = useLoad(() => api.list(VCS_CONNECTIONS, 1, 100), []);
    const pools = useLoad(() => api.list(`/api/v2/organizations/${ORG}/agent-pools`, 1, 100), []);
    /** @param {string} name @param {any} value */
    const set = (name, value) => {
        setSaved(false);
        setForm({ ...form, [name]: value });
    };
    const submit = async (/** @type {Event} */ e) => {
        e.preventDefault();
        if (await act.run(() => send(ruleAttributes(KINDS, form, current ? current.attributes : undefined)))) {
            setSaved(true);
        }
    };
    /** @param {Field} f */
    const control = (f) => {
        const choices = f.name === 'vcs-connection-id'
            ? options(connections.data ? connections.data.data : [], form[f.name], 'Choose a connection')
            : f.name === 'agent-pool-id'
                ? options(pools.data ? pools.data.data : [], form[f.name], 'The pool named default') : null;
        return html`<${FieldControl} f=${f} value=${form[f.name]} set=${set} prefix="rule" choices=${choices} />`;
    };
    return html`<form class="settings" onSubmit=${submit} aria-label=${current ? 'Rule settings' : 'New rule'}>
        ${GROUPS.map((g) => html`<fieldset>
            <legend>${g.legend}</legend>
            ${g.fields.map(control)}
            ${g.legend !== 'Where' && html`<${FieldControl} f=${{ name: 'labels', label: 'Labels', kind: 'text',
                hint: 'key=value, key=value' }} value=${form.labels} set=${set} prefix="rule" />`}
        </fieldset>`)}
        <${ErrorNote} error=${act.error || connections.error} />
        <p class="buttons">
            <button class="primary" type="submit" disabled=${act.busy}>${current ? 'Save rule' : 'Create rule'}</button>
            <button type="button" onClick=${() => preview(ruleAttributes(KINDS, form))}>Preview</button>
            ${saved && current && html`<span role="status">Rule saved.</span>`}
        </p>
    </form>`;
}

/**
 * What a rule would create (or a scan created): the workspaces, each new
 * or skipped.
 * @param {{rows: import('../lib/vcs.js').PreviewRow[], label: string}} props
 */
export function PreviewTable({ rows, label }) {
    if (rows.length === 0) {
        return html`<p>No directory of the branch matches the pattern.</p>`;
    }
    return html`<div class="table-wrap"><table class="list" aria-label=${label}>
        <thead><tr>
            <th scope="col">Workspace</th><th scope="col">Working directory</th><th scope="col">Outcome</th>
        </tr></thead>
        <tbody>${rows.map((r) => html`<tr key=${r.workingDirectory} data-directory=${r.workingDirectory}>
            <th scope="row">${r.workspaceName}</th>
            <td><code>${r.workingDirectory}</code></td>
            <td>${r.existing ? html`<span class="badge badge-done">Created by this rule already</span>`
                : r.collision ? html`<span class="badge badge-wait">Skipped: name or directory taken</span>`
                : html`<span class="badge badge-ok">New</span>`}</td>
        </tr>`)}</tbody>
    </table></div>`;
}

/**
 * A preview asked for, and its answer: a 413 means the provider cut the
 * repository's tree short.
 * @returns {{show: (load: () => Promise<any>) => Promise<void>, view: any}}
 */
export function usePreview() {
    const [rows, setRows] = useState(/** @type {import('../lib/vcs.js').PreviewRow[] | null} */ (null));
    const act = useAction();
    const show = async (/** @type {() => Promise<any>} */ load) => {
        setRows(null);
        await act.run(async () => setRows(previewRows(await load())));
    };
    const error = act.error && act.error.status === 413
        ? { message: 'The repository is too large to scan: its provider cut the list of its files short.' }
        : act.error;
    const view = (rows || act.busy || act.error) && html`<section aria-labelledby="preview-h">
        <h2 id="preview-h">Preview</h2>
        ${act.busy && html`<p class="muted" role="status">Reading the repository…</p>`}
        <${ErrorNote} error=${error} />
        ${rows && html`<${PreviewTable} rows=${rows} label="Preview" />`}
    </section>`;
    return { show, view };
}

/** @param {Record<string, any>} attributes */
export function previewUnsaved(attributes) {
    return api.post(`${AUTODISCOVERY_RULES}/preview`, { data: { type: 'autodiscovery-rules', attributes } });
}
