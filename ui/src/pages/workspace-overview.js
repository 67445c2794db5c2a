// @ts-check
// A workspace's overview tab: how it runs, its current run, who holds its
// lock and why, the lock controls its reader may use, and what needs
// attention (state that diverged, drift), its drift checks (with "check
// now" for its admins). The shell keeps it live.
import { useState } from 'preact/hooks';
import { html } from '../lib/html.js';
import { api } from '../lib/session.js';
import { related } from '../lib/api.js';
import { useLoad } from '../lib/hooks.js';
import { can, lockActions } from '../lib/perms.js';
import { driftOf, assessmentSummary } from '../lib/drift.js';
import { lockText, labelList, when } from '../lib/format.js';
import { runPath } from '../lib/paths.js';
import { WorkspaceShell } from '../components/workspace-shell.js';
import { ErrorNote, Link, RunStatus } from '../components/common.js';

/** @typedef {import('../lib/api.js').Resource} Resource */
/** @typedef {import('../components/workspace-shell.js').ShellContext} ShellContext */

/** @param {{params: {name: string}}} props */
export function WorkspaceOverviewPage({ params }) {
    return html`<${WorkspaceShell} name=${params.name} tab="">
        ${(/** @type {Resource} */ ws, /** @type {ShellContext} */ ctx) => html`<${Overview} ws=${ws} ctx=${ctx} />`}
    <//>`;
}

/** @param {{ws: Resource, ctx: ShellContext}} props */
function Overview({ ws, ctx }) {
    const a = ws.attributes || {};
    const run = related(ctx.included, ws, 'current-run');
    return html`<div class="overview">
        <${Banners} ws=${ws} />
        ${a.description && html`<p>${a.description}</p>`}
        <div class="run-grid">
            <section aria-labelledby="details-title">
                <h2 id="details-title">Details</h2>
                <dl class="facts">
                    <dt>Execution mode</dt><dd>${a['execution-mode']}</dd>
                    ${a['execution-mode'] === 'agent' && html`<dt>Agent pool</dt><dd><${PoolName} id=${a['agent-pool-id']} /></dd>`}
                    <dt>Terraform version</dt><dd>${a['terraform-version']}</dd>
                    <dt>Auto-apply</dt><dd>${a['auto-apply'] ? 'On' : 'Off'}</dd>
                    <dt>Owner</dt><dd>${a['owner-email'] || '—'}</dd>
                    <dt>Labels</dt><dd>${labelList(a.labels).length
                        ? labelList(a.labels).map((l) => html`<span class="label">${l}</span> `) : '—'}</dd>
                    <dt>Resources</dt><dd>${a['resource-count'] ?? 0}</dd>
                    ${a['working-directory'] && html`<dt>Working directory</dt><dd><code>${a['working-directory']}</code></dd>`}
                </dl>
            </section>
            <section aria-labelledby="current-title">
                <h2 id="current-title">Current run</h2>
                ${run ? html`<p><${RunStatus} status=${run.attributes?.status} />
                    ${' '}<${Link} to=${runPath(a.name, run.id)}>${run.id}<//>
                    <span class="muted"> — ${when(run.attributes?.['created-at'])}</span></p>`
                    : html`<p class="muted">No runs yet.</p>`}
                <h2 id="lock-title">Lock</h2>
                <${LockPanel} ws=${ws} reload=${ctx.reload} />
            </section>
        </div>
        <${DriftPanel} ws=${ws} reload=${ctx.reload} />
    </div>`;
}

/**
 * Drift detection: the status, the last checks (each linking to its drift
 * run) and, for the workspace's admins, a check now.
 * @param {{ws: Resource, reload: () => Promise<void>}} props
 */
function DriftPanel({ ws, reload }) {
    const a = ws.attributes || {};
    const drift = driftOf(a);
    const [busy, setBusy] = useState(false);
    const [error, setError] = useState(/** @type {any} */ (null));
    const history = useLoad(async () => api.get(
        `/api/terrapod/v1/workspaces/${encodeURIComponent(ws.id)}/assessment-results?page[size]=10`),
    [ws.id, a['drift-last-checked-at']]);

    async function checkNow() {
        setBusy(true);
        setError(null);
        try {
            await api.post(`/api/terrapod/v1/workspaces/${ws.id}/actions/check-drift`);
            await reload();
        } catch (e) {
            setError(e);
        } finally {
            setBusy(false);
        }
    }

    if (!drift && !(history.data && history.data.data.length)) {
        return null;
    }
    return html`<section aria-labelledby="drift-title">
        <h2 id="drift-title">Drift</h2>
        <p data-testid="drift-state">${drift ? html`<span class=${`badge badge-${drift.tone}`}>${drift.label}</span>` : 'Off'}
            ${a['drift-last-checked-at'] && html`<span class="muted"> — checked ${when(a['drift-last-checked-at'])}</span>`}</p>
        ${can(ws, 'can-update') && html`<div class="actions">
            <button type="button" disabled=${busy} onClick=${checkNow}>Check for drift now</button>
        </div>`}
        <${ErrorNote} error=${error || history.error} />
        ${history.data && history.data.data.length > 0 && html`<table class="list">
            <caption>Last checks</caption>
            <thead><tr><th scope="col">Checked</th><th scope="col">Result</th><th scope="col">Run</th></tr></thead>
            <tbody>${history.data.data.map((/** @type {Resource} */ r) => {
                const ra = r.attributes || {};
                const runId = r.relationships?.run?.data?.id;
                return html`<tr key=${r.id} data-assessment=${r.id}>
                    <td>${when(ra['created-at'])}</td>
                    <td><span class=${`badge badge-${driftOf(ra)?.tone || 'done'}`}>${driftOf(ra)?.label}</span>
                        ${' '}${assessmentSummary(ra)}</td>
                    <td>${runId && html`<${Link} to=${runPath(a.name, runId)}>${runId}<//>`}</td>
                </tr>`;
            })}</tbody>
        </table>`}
    </section>`;
}

/** @param {{ws: Resource}} props */
function Banners({ ws }) {
    const a = ws.attributes || {};
    return html`
        ${a['state-diverged'] && html`<p class="banner banner-bad" role="alert">
            The state has diverged: the last apply changed infrastructure but its state could not be
            stored. Upload or roll back the state before the next run.</p>`}
        ${a['drift-status'] === 'drifted' && html`<p class="banner" role="status">
            Drift detected: the infrastructure no longer matches the state
            ${a['drift-last-checked-at'] && ` (checked ${when(a['drift-last-checked-at'])})`}.
            ${a['drift-latest-run-id'] && html` <${Link} to=${runPath(a.name, a['drift-latest-run-id'])}>See the drift run<//>.`}</p>`}`;
}

/** @param {{id: string|null}} props */
function PoolName({ id }) {
    const { data } = useLoad(async () => (id
        ? api.get(`/api/terrapod/v1/agent-pools/${encodeURIComponent(id)}`) : null), [id]);
    if (!id) {
        return html`<span>default</span>`;
    }
    return html`<span>${data ? data.data.attributes.name : id}</span>`;
}

/**
 * The lock in words and the controls the reader may use.
 * @param {{ws: Resource, reload: () => Promise<void>}} props
 */
function LockPanel({ ws, reload }) {
    const a = ws.attributes || {};
    const [reason, setReason] = useState('');
    const [busy, setBusy] = useState(false);
    const [error, setError] = useState(/** @type {any} */ (null));
    const actions = lockActions(ws);

    /**
     * @param {string} action
     * @param {any} [body]
     */
    async function act(action, body) {
        setBusy(true);
        setError(null);
        try {
            await api.post(`/api/v2/workspaces/${ws.id}/actions/${action}`, body);
            setReason('');
            await reload();
        } catch (e) {
            setError(e);
        } finally {
            setBusy(false);
        }
    }

    return html`<div class="lock-panel">
        <p data-testid="lock-state">${a.locked
            ? html`${lockText(a)}${a['locked-at'] ? html`<span class="muted"> (since ${when(a['locked-at'])})</span>` : ''}`
            : 'Unlocked'}</p>
        ${actions.includes('lock') && html`<form class="filters" onSubmit=${(/** @type {Event} */ e) => {
            e.preventDefault();
            act('lock', reason ? { reason } : undefined);
        }}>
            <label>Reason <input type="text" name="reason" value=${reason}
                onInput=${(/** @type {any} */ e) => setReason(e.currentTarget.value)} /></label>
            <button type="submit" disabled=${busy}>Lock</button>
        </form>`}
        ${(actions.includes('unlock') || actions.includes('force-unlock')) && html`<div class="actions">
            ${actions.includes('unlock') && html`<button type="button" disabled=${busy}
                onClick=${() => act('unlock')}>Unlock</button>`}
            ${actions.includes('force-unlock') && html`<button type="button" class="danger" disabled=${busy}
                onClick=${() => act('force-unlock')}>Force unlock</button>`}
        </div>`}
        <${ErrorNote} error=${error} />
    </div>`;
}
