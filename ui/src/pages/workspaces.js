// @ts-check
// The workspaces list: search by name, filter by label, one page at a time
// (the server pages and filters), each row's current run and lock kept up
// to date by the live event stream.
import { useEffect, useRef, useState } from 'preact/hooks';
import { html } from '../lib/html.js';
import { api } from '../lib/session.js';
import { related } from '../lib/api.js';
import { useLoad, useLive, useInterval } from '../lib/hooks.js';
import { lockText, labelList, labelQuery } from '../lib/format.js';
import { navigate } from '../lib/nav.js';
import { workspacePath } from '../lib/paths.js';
import { lifecycleOf } from '../lib/vcs.js';
import { driftOf } from '../lib/drift.js';
import { Link, ErrorNote, Loading, RunStatus, Pager, LiveState } from '../components/common.js';

const PAGE_SIZE = 20;
/** Events that change what a row shows. */
const ROW_EVENTS = new Set(['run_status_change', 'workspace_lock_change', 'workspace_updated']);

/**
 * @param {{params: {org: string}, query: URLSearchParams}} props
 */
export function WorkspacesPage({ params, query }) {
    const org = params.org;
    const search = query.get('search') || '';
    const label = query.get('label') || '';
    const page = Number(query.get('page')) || 1;
    const [nameText, setNameText] = useState(search);
    const [labelText, setLabelText] = useState(label);
    const { data, error, reload } = useLoad(
        () => api.list(`/api/v2/organizations/${encodeURIComponent(org)}/workspaces`, page,
                       PAGE_SIZE, { 'search[name]': search, include: 'current_run',
                                    ...labelQuery(label) }),
        [org, search, label, page]);
    const shown = useRef(/** @type {Set<string>} */ (new Set()));
    shown.current = new Set(data ? data.data.map((w) => w.id) : []);

    const live = useLive('/api/terrapod/v1/workspace-events', (e) => {
        if (ROW_EVENTS.has(e.event) && e.data && shown.current.has(e.data.workspace_id)) {
            reload();
        }
    });
    useInterval(reload, 10000, live === 'unavailable');

    /**
     * A search, a filter or a page, as the address (typing replaces it;
     * a new page is a step back can undo).
     * @param {string} s
     * @param {string} l
     * @param {number} p
     * @param {boolean} [step]
     */
    const go = (s, l, p, step = false) => {
        const q = new URLSearchParams();
        if (s) q.set('search', s);
        if (l) q.set('label', l);
        if (p > 1) q.set('page', String(p));
        const qs = q.toString();
        navigate(`/app/${encodeURIComponent(org)}/workspaces${qs ? `?${qs}` : ''}`, { replace: !step });
    };
    // typing searches once the person pauses
    useEffect(() => {
        if (nameText === search && labelText === label) {
            return undefined;
        }
        const t = setTimeout(() => go(nameText, labelText, 1), 300);
        return () => clearTimeout(t);
    }, [nameText, labelText]);

    return html`<section>
        <header class="page-head">
            <h1>Workspaces</h1>
            <${LiveState} state=${live} />
        </header>
        <form class="filters" role="search" onSubmit=${(/** @type {Event} */ e) => {
            e.preventDefault();
            go(nameText, labelText, 1);
        }}>
            <label>Name <input type="search" name="search" value=${nameText}
                onInput=${(/** @type {any} */ e) => setNameText(e.currentTarget.value)} /></label>
            <label>Label <input type="text" name="label" value=${labelText} placeholder="key or key=value"
                onInput=${(/** @type {any} */ e) => setLabelText(e.currentTarget.value)} /></label>
            <button type="submit">Search</button>
        </form>
        <${ErrorNote} error=${error} />
        ${!data && !error && html`<${Loading} />`}
        ${data && html`<${WorkspaceTable} list=${data} />
            <${Pager} pagination=${data.pagination} noun="workspaces"
                go=${(/** @type {number} */ p) => go(search, label, p, true)} />`}
    </section>`;
}

/**
 * @param {{list: {data: import('../lib/api.js').Resource[], included: Map<string, any>}}} props
 */
function WorkspaceTable({ list }) {
    if (list.data.length === 0) {
        return html`<p>No workspaces match.</p>`;
    }
    return html`<div class="table-wrap"><table class="list">
        <thead><tr>
            <th scope="col">Name</th><th scope="col">Current run</th><th scope="col">Lock</th>
            <th scope="col">Labels</th><th scope="col">Execution</th>
        </tr></thead>
        <tbody>${list.data.map((ws) => {
            const a = ws.attributes || {};
            const run = related(list.included, ws, 'current-run');
            const lifecycle = lifecycleOf(a);
            const drift = driftOf(a);
            return html`<tr key=${ws.id} data-workspace=${a.name}>
                <th scope="row"><${Link} to=${workspacePath(a.name)}>${a.name}<//>${lifecycle && html` <span
                    class=${`badge badge-${lifecycle.state === 'archived' ? 'done' : 'wait'}`}
                    title=${lifecycle.reason}>${lifecycle.label}</span>`}${drift && drift.status && html` <span
                    class=${`badge badge-${drift.tone}`} data-drift=${drift.status}>${drift.label}</span>`}</th>
                <td class="run-status"><${RunStatus} status=${run && run.attributes ? run.attributes.status : ''} /></td>
                <td class="lock">${lockText(a) || html`<span class="muted">Unlocked</span>`}</td>
                <td>${labelList(a.labels).map((l) => html`<span class="label">${l}</span> `)}</td>
                <td>${a['execution-mode']}</td>
            </tr>`;
        })}</tbody>
    </table></div>`;
}
