// @ts-check
// The frame of every page of one workspace: its name, lock, lifecycle
// (a workspace autodiscovery flagged for deletion or archived), tabs, and
// the workspace's live event stream, which the page inside may listen to too.
// A tab page renders <WorkspaceShell name tab>{(ws, ctx) => …}</WorkspaceShell>.
import { useRef } from 'preact/hooks';
import { html } from '../lib/html.js';
import { api } from '../lib/session.js';
import { useLoad, useLive, useInterval } from '../lib/hooks.js';
import { can } from '../lib/perms.js';
import { lockText } from '../lib/format.js';
import { lifecycleOf } from '../lib/vcs.js';
import { ORG, workspacePath } from '../lib/paths.js';
import { Link, ErrorNote, Loading, LiveState } from './common.js';

/**
 * @typedef {import('../lib/api.js').Resource} Resource
 * @typedef {import('../lib/events.js').StreamEvent} StreamEvent
 * @typedef {object} ShellContext
 * @property {Map<string, Resource>} included what the workspace was read with (its current run)
 * @property {() => Promise<void>} reload reads the workspace again
 * @property {(fn: (e: StreamEvent) => void) => () => void} listen the workspace's events, while mounted
 * @property {import('../lib/events.js').StreamState} live
 */

/** The tabs, and the permission each needs to be shown ('' for none). */
const TABS = [
    { tab: '', label: 'Overview', perm: '' },
    { tab: 'runs', label: 'Runs', perm: '' },
    { tab: 'variables', label: 'Variables', perm: 'can-read-variable' },
    { tab: 'state', label: 'State', perm: 'can-read-state-versions' },
    { tab: 'configurations', label: 'Configurations', perm: '' },
    { tab: 'settings', label: 'Settings', perm: 'can-read-settings' },
];

/** Events that change what the workspace itself shows. */
const WORKSPACE_EVENTS = new Set([
    'run_status_change', 'workspace_lock_change', 'workspace_updated', 'state_version_created',
]);

/**
 * @param {{name: string, tab: string, children: (ws: Resource, ctx: ShellContext) => any}} props
 */
export function WorkspaceShell({ name, tab, children }) {
    const listeners = useRef(/** @type {Set<(e: StreamEvent) => void>} */ (new Set()));
    const { data, error, reload } = useLoad(
        () => api.get(`/api/v2/organizations/${ORG}/workspaces/${encodeURIComponent(name)}`,
                      { include: 'current_run' }),
        [name]);
    const ws = data && data.data;
    const live = useLive(ws ? `/api/terrapod/v1/workspaces/${ws.id}/runs/events` : null, (e) => {
        if (WORKSPACE_EVENTS.has(e.event)) {
            reload();
        }
        listeners.current.forEach((fn) => fn(e));
    });
    // without live events, what the page shows is read again now and then
    useInterval(reload, 5000, live === 'unavailable');

    if (error && !ws) {
        return html`<h1>${name}</h1><${ErrorNote} error=${error} />`;
    }
    if (!ws) {
        return html`<${Loading} />`;
    }
    const a = ws.attributes;
    const lifecycle = lifecycleOf(a);
    /** @type {Map<string, Resource>} */
    const included = new Map((data.included || []).map(
        (/** @type {Resource} */ r) => [`${r.type}/${r.id}`, r]));
    /** @type {ShellContext} */
    const ctx = {
        included,
        reload,
        live,
        listen(fn) {
            listeners.current.add(fn);
            return () => listeners.current.delete(fn);
        },
    };
    return html`<article class="workspace">
        <header class="page-head">
            <p class="crumbs"><${Link} to=${`/app/${ORG}/workspaces`}>Workspaces<//></p>
            <h1>${a.name}</h1>
            ${a.locked && html`<p class="lock" data-testid="lock">${lockText(a)}</p>`}
            <${LiveState} state=${live} />
        </header>
        ${lifecycle && html`<p class=${`banner${lifecycle.state === 'archived' ? ' banner-bad' : ''}`}
            role="status" data-testid="lifecycle"><strong>${lifecycle.label}</strong>${lifecycle.reason
                ? `: ${lifecycle.reason}` : ''}</p>`}
        <nav class="tabs" aria-label="Workspace">
            <ul>
                ${TABS.filter((t) => !t.perm || can(ws, t.perm)).map((t) => html`<li>
                    <${Link} to=${workspacePath(a.name, t.tab)}
                        aria-current=${t.tab === tab ? 'page' : undefined}>${t.label}<//>
                </li>`)}
            </ul>
        </nav>
        ${error && html`<${ErrorNote} error=${error} />`}
        ${children(ws, ctx)}
    </article>`;
}
