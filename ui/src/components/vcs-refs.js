// @ts-check
// The branches and tags of a workspace's repository (vcs-refs), for the
// pickers of its settings and of queueing a run.
import { html } from '../lib/html.js';
import { api } from '../lib/session.js';
import { useLoad } from '../lib/hooks.js';
import { refsOf } from '../lib/vcs.js';

/** @typedef {import('../lib/api.js').Resource} Resource */

/**
 * The connection a workspace is bound to, '' for none.
 * @param {Resource} ws
 * @returns {string}
 */
export function connectionOf(ws) {
    const rel = ws.relationships && ws.relationships['vcs-connection'];
    return (rel && rel.data && rel.data.id) || '';
}

/**
 * The refs of a bound workspace's repository, read again when its binding
 * changes; none for a workspace bound to nothing.
 * @param {Resource} ws
 */
export function useVcsRefs(ws) {
    const a = ws.attributes || {};
    const conn = connectionOf(ws);
    return useLoad(async () => (conn
        ? refsOf(await api.get(`/api/terrapod/v1/workspaces/${ws.id}/vcs-refs`)) : null),
        [ws.id, conn, a['vcs-repo-url']]);
}

/**
 * Options of a select among the branches (and tags); the value '' is the
 * first option, named by first; a current value the repository does not
 * list stays a choice.
 * @param {{refs: ReturnType<typeof refsOf>, first: string, current?: string, tags?: boolean}} props
 */
export function RefOptions({ refs, first, current, tags }) {
    const known = !current || refs.branches.includes(current) || (!!tags && refs.tags.includes(current));
    return html`<option value="">${first}</option>
        ${!known && html`<option value=${current}>${current}</option>`}
        <optgroup label="Branches">${refs.branches.map((b) => html`<option value=${b}>${b}</option>`)}</optgroup>
        ${tags && refs.tags.length > 0 && html`<optgroup label="Tags">
            ${refs.tags.map((t) => html`<option value=${t}>${t}</option>`)}</optgroup>`}`;
}
