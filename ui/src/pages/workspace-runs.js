// @ts-check
// A workspace's runs tab: its runs, newest first, a page at a time, each
// linking to its run page with the commit it ran (pull request runs
// marked); and queueing a new one from the newest uploaded configuration,
// or for a workspace bound to a repository from its branch's head or a
// branch or tag picked: a plan, a plan that may apply, or either as a
// destroy, each offered only as the workspace's permissions allow.
import { useState } from 'preact/hooks';
import { html } from '../lib/html.js';
import { api } from '../lib/session.js';
import { useLoad } from '../lib/hooks.js';
import { useAction } from '../lib/action.js';
import { can } from '../lib/perms.js';
import { when } from '../lib/format.js';
import { runPath } from '../lib/paths.js';
import { ingressOf } from '../lib/vcs.js';
import { WorkspaceShell } from '../components/workspace-shell.js';
import { Link, ErrorNote, Loading, Pager, RunStatus } from '../components/common.js';
import { useReloadOn } from '../components/workspace-tab.js';
import { CommitLine } from '../components/vcs-commit.js';
import { connectionOf, useVcsRefs, RefOptions } from '../components/vcs-refs.js';

/**
 * @typedef {import('../lib/api.js').Resource} Resource
 * @typedef {import('../components/workspace-shell.js').ShellContext} ShellContext
 */

const PAGE_SIZE = 20;

/** The runs a person may queue: what each sends and the permission it needs. */
const KINDS = [
    { kind: 'plan', label: 'Plan only', perm: 'can-queue-run', destroy: false, planOnly: true },
    { kind: 'apply', label: 'Plan and apply', perm: 'can-queue-apply', destroy: false, planOnly: false },
    { kind: 'destroy-plan', label: 'Destroy plan (plan only)', perm: 'can-queue-destroy-plan', destroy: true,
      planOnly: true },
    { kind: 'destroy', label: 'Destroy (plan and apply)', perm: 'can-queue-destroy', destroy: true,
      planOnly: false },
];

/**
 * The kinds of run the workspace lets its reader queue; destroy runs only
 * where the workspace allows them.
 * @param {Resource} ws
 */
function queueableKinds(ws) {
    const a = ws.attributes || {};
    return KINDS.filter((k) => can(ws, k.perm) && (!k.destroy || a['allow-destroy-plan'] !== false));
}

/** @param {{params: {name: string}}} props */
export function WorkspaceRunsPage({ params }) {
    return html`<${WorkspaceShell} name=${params.name} tab="runs">
        ${(/** @type {Resource} */ ws, /** @type {ShellContext} */ ctx) => html`<${Runs} ws=${ws} ctx=${ctx} />`}
    <//>`;
}

/** @param {{ws: Resource, ctx: ShellContext}} props */
function Runs({ ws, ctx }) {
    const [page, setPage] = useState(1);
    const runs = useLoad(() => api.list(`/api/v2/workspaces/${ws.id}/runs`, page, PAGE_SIZE,
        { include: 'configuration_version.ingress_attributes' }), [ws.id, page]);
    useReloadOn(ctx, ['run_status_change'], runs.reload);
    const kinds = queueableKinds(ws);

    return html`${kinds.length > 0 && html`<${QueueRun} ws=${ws} kinds=${kinds} onQueued=${() => {
            setPage(1);
            runs.reload();
            ctx.reload();
        }} />`}
        <section aria-labelledby="runs-list">
            <h2 id="runs-list">Runs</h2>
            <${ErrorNote} error=${runs.error} />
            ${!runs.data && !runs.error && html`<${Loading} />`}
            ${runs.data && html`<${RunTable} ws=${ws} runs=${runs.data.data} included=${runs.data.included} />
                ${runs.data.pagination['total-pages'] > 1 && html`<${Pager} pagination=${runs.data.pagination}
                    go=${setPage} noun="runs" />`}`}
        </section>`;
}

/** @param {Record<string, any>} a run attributes */
function kindOf(a) {
    const what = a['is-destroy'] ? 'Destroy' : 'Apply';
    if (a['plan-only']) return a['is-destroy'] ? 'Destroy plan' : 'Plan only';
    if (a['save-plan']) return 'Saved plan';
    return a['auto-apply'] ? `${what}, automatic` : what;
}

/** @param {{ws: Resource, runs: Resource[], included: Map<string, Resource>}} props */
function RunTable({ ws, runs, included }) {
    if (runs.length === 0) {
        return html`<p>This workspace has no runs yet.</p>`;
    }
    const name = (ws.attributes || {}).name;
    return html`<div class="table-wrap"><table class="list">
        <thead><tr>
            <th scope="col">Run</th><th scope="col">Status</th><th scope="col">Kind</th>
            <th scope="col">Source</th><th scope="col">Message</th><th scope="col">By</th><th scope="col">Created</th>
        </tr></thead>
        <tbody>${runs.map((r) => {
            const a = r.attributes || {};
            return html`<tr key=${r.id} data-run=${r.id}>
                <th scope="row"><${Link} to=${runPath(name, r.id)}>${r.id}<//></th>
                <td><${RunStatus} status=${a.status} /></td>
                <td>${kindOf(a)}</td>
                <td><${CommitLine} ing=${ingressOf(included, r)} /></td>
                <td>${a.message}</td>
                <td>${a['created-by']}</td>
                <td>${when(a['created-at'])}</td>
            </tr>`;
        })}</tbody>
    </table></div>`;
}

/**
 * @param {{ws: Resource, kinds: typeof KINDS, onQueued: () => void}} props
 */
function QueueRun({ ws, kinds, onQueued }) {
    const a = ws.attributes || {};
    const [kind, setKind] = useState(kinds[0].kind);
    const [message, setMessage] = useState('');
    const [autoApply, setAutoApply] = useState(a['auto-apply'] === true);
    const [queued, setQueued] = useState(/** @type {Resource | null} */ (null));
    const [ref, setRef] = useState('');
    const queue = useAction();
    const bound = connectionOf(ws) !== '';
    const refs = useVcsRefs(ws);
    const chosen = kinds.find((k) => k.kind === kind) || kinds[0];

    /** @param {Event} e */
    const submit = async (e) => {
        e.preventDefault();
        /** @type {Resource | null} */
        let run = null;
        const ok = await queue.run(async () => {
            const doc = await api.post('/api/v2/runs', { data: {
                type: 'runs',
                attributes: {
                    message: message || `Queued from the web UI: ${chosen.label.toLowerCase()}`,
                    'plan-only': chosen.planOnly,
                    'is-destroy': chosen.destroy,
                    ...(chosen.planOnly ? {} : { 'auto-apply': autoApply }),
                    ...(ref ? { 'vcs-ref': ref } : {}),
                },
                relationships: { workspace: { data: { type: 'workspaces', id: ws.id } } },
            } });
            run = doc.data;
        });
        if (ok) {
            setQueued(run);
            setMessage('');
            onQueued();
        }
    };

    return html`<section aria-labelledby="runs-queue">
        <h2 id="runs-queue">Queue a run</h2>
        <form class="settings" onSubmit=${submit}>
            ${bound ? html`<p class="muted">The run fetches its configuration from the repository: the head of the
                    branch the workspace follows, or the branch or tag picked (a plan only, unless it is that branch).</p>
                <div class="field">
                    <label for="queue-ref">Branch or tag</label>
                    <select id="queue-ref" name="vcs-ref" value=${ref} disabled=${!refs.data}
                        onChange=${(/** @type {any} */ e) => setRef(e.currentTarget.value)}>
                        ${refs.data ? html`<${RefOptions} refs=${refs.data} tags=${true}
                            first=${`The followed branch (${a['vcs-branch'] || refs.data.defaultBranch})`} />`
                            : html`<option value="">The followed branch</option>`}
                    </select>
                    ${refs.error && html`<span class="hint error-text">The repository's branches could not be read:
                        ${refs.error.message}</span>`}
                </div>`
                : html`<p class="muted">The run uses the newest configuration uploaded to this workspace.</p>`}
            <fieldset>
                <legend>What to run</legend>
                ${kinds.map((k) => html`<label class="inline"><input type="radio" name="kind" value=${k.kind}
                    checked=${k.kind === kind} onChange=${() => setKind(k.kind)} /> ${k.label}</label>`)}
            </fieldset>
            ${!chosen.planOnly && html`<label class="inline"><input type="checkbox" name="auto-apply"
                checked=${autoApply} onChange=${(/** @type {any} */ e) => setAutoApply(e.currentTarget.checked)} />
                Apply without waiting for confirmation when the plan succeeds</label>`}
            <label>Message <input name="message" value=${message}
                onInput=${(/** @type {any} */ e) => setMessage(e.currentTarget.value)} /></label>
            <${ErrorNote} error=${queue.error} />
            <p class="buttons">
                <button type="submit" class="primary" disabled=${queue.busy}>Queue run</button>
                ${queued && html`<span role="status">Queued
                    <${Link} to=${runPath(a.name, queued.id)}>${queued.id}<//>.</span>`}
            </p>
        </form>
    </section>`;
}
