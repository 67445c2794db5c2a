// @ts-check
// A run: its status and timeline, the actions its reader may take, the
// planned resource changes, the plan and apply logs as they grow, what the
// run used, and the commit (and pull request) it ran, if from a repository. Followed live through the workspace's event stream, or read
// again every 2 s while the run moves when there is none.
import { useEffect, useState } from 'preact/hooks';
import { html } from '../lib/html.js';
import { api } from '../lib/session.js';
import { includedIndex, related } from '../lib/api.js';
import { useLoad, useInterval } from '../lib/hooks.js';
import { runActions } from '../lib/perms.js';
import { isFinal, when, bytes, statusLabel } from '../lib/format.js';
import { plannedChanges, changeCounts } from '../lib/plan.js';
import { WorkspaceShell } from '../components/workspace-shell.js';
import { ErrorNote, Loading, RunStatus } from '../components/common.js';
import { PhaseLog } from '../components/log-view.js';
import { CommitFacts, PullRequestBadge } from '../components/vcs-commit.js';
import { ingressOf, ingressFromDoc } from '../lib/vcs.js';

/** @typedef {import('../lib/api.js').Resource} Resource */

/** Phase statuses in which a phase may still write to its log. */
const RUNNING = new Set(['pending', 'queued', 'running']);

/** @param {{params: {name: string, run: string}}} props */
export function RunPage({ params }) {
    return html`<${WorkspaceShell} name=${params.name} tab="runs">
        ${(/** @type {Resource} */ ws, /** @type {any} */ ctx) => html`<${Run} id=${params.run} ws=${ws} ctx=${ctx} />`}
    <//>`;
}

/**
 * @param {string} id
 */
async function loadRun(id) {
    const [doc, events] = await Promise.all([
        api.get(`/api/v2/runs/${encodeURIComponent(id)}`,
                { include: 'plan,apply,created_by,configuration_version.ingress_attributes' }),
        api.get(`/api/v2/runs/${encodeURIComponent(id)}/run-events`,
                { include: 'actor', 'page[size]': 100 }),
    ]);
    const idx = includedIndex(doc);
    return {
        run: /** @type {Resource} */ (doc.data),
        ingress: await loadIngress(idx, doc.data),
        plan: related(idx, doc.data, 'plan'),
        apply: related(idx, doc.data, 'apply'),
        events: /** @type {Resource[]} */ (events.data),
        actors: includedIndex(events),
    };
}

/**
 * The commit a run's configuration came from: included with the run, or
 * read from its configuration version (404: uploaded, none; the run is
 * shown without it if it cannot be read).
 * @param {Map<string, Resource>} idx
 * @param {Resource} run
 */
async function loadIngress(idx, run) {
    const cv = related(idx, run, 'configuration-version');
    if (cv && cv.relationships && cv.relationships['ingress-attributes']) {
        return ingressOf(idx, run);
    }
    const cvId = run.relationships?.['configuration-version']?.data?.id;
    if (!cvId) {
        return null;
    }
    return api.get(`/api/v2/configuration-versions/${encodeURIComponent(cvId)}/ingress-attributes`)
        .then(ingressFromDoc, () => null);
}

/**
 * @param {{id: string, ws: Resource, ctx: import('../components/workspace-shell.js').ShellContext}} props
 */
function Run({ id, ws, ctx }) {
    const { data, error, reload } = useLoad(() => loadRun(id), [id]);
    const [ticks, setTicks] = useState({ plan: 0, apply: 0 });
    const [acting, setActing] = useState('');
    const [actionError, setActionError] = useState(/** @type {any} */ (null));
    const status = data ? data.run.attributes?.status : '';
    const live = ctx.live === 'open';

    useEffect(() => ctx.listen((e) => {
        if (!e.data || e.data.run_id !== id) {
            return;
        }
        if (e.event === 'run_status_change') {
            reload();
        } else if (e.event === 'log_updated') {
            setTicks((t) => ({ ...t, [e.data.phase]: t[/** @type {'plan'|'apply'} */ (e.data.phase)] + 1 }));
        }
    }), [id]);
    // without live events, a run that moves is read again
    useInterval(reload, 2000, !live && !!status && !isFinal(status));

    if (error && !data) {
        return html`<${ErrorNote} error=${error} />`;
    }
    if (!data) {
        return html`<${Loading} />`;
    }
    const { run, plan, apply } = data;
    const a = run.attributes || {};
    if (run.relationships?.workspace?.data?.id !== ws.id) {
        return html`<${ErrorNote} error=${{ status: 404 }} />`;
    }

    /** @param {string} action */
    async function act(action) {
        setActing(action);
        setActionError(null);
        try {
            await api.post(`/api/v2/runs/${encodeURIComponent(id)}/actions/${action}`);
            await reload();
        } catch (e) {
            setActionError(e);
        } finally {
            setActing('');
        }
    }

    const planRunning = !!plan && RUNNING.has(plan.attributes?.status);
    const applyRunning = !!apply && RUNNING.has(apply.attributes?.status);
    return html`<section class="run" aria-labelledby="run-title">
        <header class="run-head">
            <h2 id="run-title">Run ${run.id}</h2>
            <p class="run-status" data-testid="run-status"><${RunStatus} status=${a.status} /></p>
            ${data.ingress && html`<p><${PullRequestBadge} ing=${data.ingress} /></p>`}
            ${a.message && html`<p>${a.message}</p>`}
            <p class="muted">${a['is-destroy'] ? 'Destroy run' : a['plan-only'] ? 'Plan only' : 'Plan and apply'}
                ${' · '}queued ${when(a['created-at'])}${a['created-by'] ? ` by ${a['created-by']}` : ''}
                ${' · '}terraform ${a['terraform-version']}</p>
            ${a['error-message'] && html`<p class="error" role="alert">${a['error-message']}</p>`}
        </header>
        <${RunActions} run=${run} acting=${acting} act=${act} />
        <${ErrorNote} error=${actionError} />
        <div class="run-grid">
            <${Timeline} events=${data.events} actors=${data.actors} />
            <${Profile} attrs=${a} />
            ${data.ingress && html`<${CommitFacts} ing=${data.ingress} />`}
        </div>
        <${PlannedChanges} plan=${plan} />
        ${plan && html`<${PhaseLog} label="Plan" url=${plan.attributes?.['log-read-url'] || null}
            phaseId=${plan.id} running=${planRunning} poll=${!live} tick=${ticks.plan} />`}
        ${apply && apply.attributes?.status !== 'pending' && apply.attributes?.status !== 'unreachable'
            && html`<${PhaseLog} label="Apply" url=${apply.attributes?.['log-read-url'] || null}
                phaseId=${apply.id} running=${applyRunning} poll=${!live} tick=${ticks.apply} />`}
    </section>`;
}

/**
 * The actions the run allows now that its reader may take.
 * @param {{run: Resource, acting: string, act: (a: string) => void}} props
 */
function RunActions({ run, acting, act }) {
    const list = runActions(run);
    if (list.length === 0) {
        return null;
    }
    return html`<div class="actions" role="group" aria-label="Run actions">
        ${list.map((x) => html`<button type="button"
            class=${x.action === 'apply' ? 'primary' : x.action === 'force-cancel' ? 'danger' : ''}
            disabled=${!!acting} onClick=${() => act(x.action)}>${acting === x.action ? `${x.label}…` : x.label}</button>`)}
    </div>`;
}

/**
 * @param {{events: Resource[], actors: Map<string, Resource>}} props
 */
function Timeline({ events, actors }) {
    return html`<section aria-labelledby="timeline-title">
        <h3 id="timeline-title">Timeline</h3>
        <ol class="timeline">
            ${events.map((ev) => {
                const actor = related(actors, ev, 'actor');
                const who = actor && actor.attributes ? actor.attributes.username || actor.attributes.email : '';
                return html`<li key=${ev.id}>
                    <time datetime=${ev.attributes?.['created-at']}>${when(ev.attributes?.['created-at'])}</time>
                    ${' '}${ev.attributes?.description || statusLabel(ev.attributes?.action)}
                    ${who && html`<span class="muted"> — ${who}</span>`}
                </li>`;
            })}
        </ol>
    </section>`;
}

/**
 * What the run's job used, once it ran.
 * @param {{attrs: Record<string, any>}} props
 */
function Profile({ attrs: a }) {
    if (a['peak-memory-bytes'] === undefined && a['runner-exit-status'] === undefined) {
        return null;
    }
    const cpu = a['peak-cpu-usec'];
    return html`<section aria-labelledby="profile-title">
        <h3 id="profile-title">Resources used</h3>
        <dl class="facts">
            <dt>Peak memory</dt><dd>${a['peak-memory-bytes'] ? bytes(a['peak-memory-bytes']) : '—'}</dd>
            <dt>CPU time</dt><dd>${cpu ? `${(cpu / 1e6).toFixed(2)} s` : '—'}</dd>
            <dt>Exit</dt><dd>${a['runner-exit-status'] || '—'}${a['runner-exit-code'] !== null
                && a['runner-exit-code'] !== undefined ? ` (code ${a['runner-exit-code']})` : ''}
                ${a['runner-exit-reason'] ? ` — ${a['runner-exit-reason']}` : ''}</dd>
        </dl>
    </section>`;
}

/**
 * The planned resource changes, from the plan's JSON once it has one.
 * @param {{plan: Resource|undefined}} props
 */
function PlannedChanges({ plan }) {
    const done = !!plan && plan.attributes?.status === 'finished' && plan.attributes?.['has-changes'] !== false;
    const { data, error } = useLoad(async () => (done && plan
        ? plannedChanges(await api.get(`/api/v2/plans/${encodeURIComponent(plan.id)}/json-output`))
        : null), [plan && plan.id, done]);
    if (!plan || plan.attributes?.status !== 'finished') {
        return null;
    }
    const pa = plan.attributes || {};
    const summary = html`<p class="counts">
        <span class="count-add">+${pa['resource-additions'] || 0} to add</span>
        <span class="count-change">~${pa['resource-changes'] || 0} to change</span>
        <span class="count-destroy">−${pa['resource-destructions'] || 0} to destroy</span>
        <span class="count-import">${pa['resource-imports'] || 0} to import</span>
    </p>`;
    if (pa['has-changes'] === false) {
        return html`<section aria-labelledby="changes-title"><h3 id="changes-title">Planned changes</h3>
            <p>No changes.</p></section>`;
    }
    const counts = data ? changeCounts(data) : null;
    return html`<section aria-labelledby="changes-title">
        <h3 id="changes-title">Planned changes</h3>
        ${summary}
        <${ErrorNote} error=${error} />
        ${data && html`<div class="table-wrap"><table class="list changes">
            <caption class="muted">${data.length} resources${counts && counts.replace
                ? `, ${counts.replace} replaced` : ''}</caption>
            <thead><tr><th scope="col">Resource</th><th scope="col">Change</th></tr></thead>
            <tbody>${data.map((c) => html`<tr key=${c.address}>
                <th scope="row"><code>${c.address}</code></th>
                <td><span class=${`change change-${c.kind}`}>${c.kind}</span></td>
            </tr>`)}</tbody>
        </table></div>`}
    </section>`;
}
