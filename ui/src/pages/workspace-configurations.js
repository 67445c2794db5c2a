// @ts-check
// A workspace's configurations tab: the configuration versions uploaded to
// it, the one its last successful apply used marked current, a download of
// each (through a short-lived download ticket), and a side-by-side diff of
// two of them as the server computes it.
import { useState } from 'preact/hooks';
import { html } from '../lib/html.js';
import { api } from '../lib/session.js';
import { useLoad } from '../lib/hooks.js';
import { useAction } from '../lib/action.js';
import { when, bytes } from '../lib/format.js';
import { sideBySide } from '../lib/diff.js';
import { WorkspaceShell } from '../components/workspace-shell.js';
import { ErrorNote, Loading, Pager } from '../components/common.js';
import { useReloadOn } from '../components/workspace-tab.js';
import { CompareVersions } from '../components/compare.js';

/**
 * @typedef {import('../lib/api.js').Resource} Resource
 * @typedef {import('../components/workspace-shell.js').ShellContext} ShellContext
 * @typedef {{path: string, type: string, diff?: string}} FileDiff
 */

const PAGE_SIZE = 20;
const TICKET_SECONDS = 60;
const CHANGE = {
    added: 'Added', removed: 'Removed', modified: 'Modified', 'binary-changed': 'Binary file changed',
};

/** @param {{params: {name: string}}} props */
export function WorkspaceConfigurationsPage({ params }) {
    return html`<${WorkspaceShell} name=${params.name} tab="configurations">
        ${(/** @type {Resource} */ ws, /** @type {ShellContext} */ ctx) => html`<${Configurations} ws=${ws}
            ctx=${ctx} />`}
    <//>`;
}

/** @param {{ws: Resource, ctx: ShellContext}} props */
function Configurations({ ws, ctx }) {
    const [page, setPage] = useState(1);
    // the list's meta carries current-id, so it is read whole
    const list = useLoad(() => api.get(`/api/v2/workspaces/${ws.id}/configuration-versions`,
        { 'page[number]': page, 'page[size]': PAGE_SIZE }), [ws.id, page]);
    const download = useAction();
    // a run is what brings a new configuration (from the CLI or a VCS push)
    useReloadOn(ctx, ['run_status_change'], list.reload);

    /** @param {Resource} cv */
    const fetchTarball = (cv) => download.run(async () => {
        const doc = await api.post(`/api/terrapod/v1/configuration-versions/${cv.id}/download-ticket`,
            { data: { type: 'download-tickets', attributes: { 'ttl-seconds': TICKET_SECONDS } } });
        window.location.assign(doc.data.attributes.url);
    });

    const versions = list.data ? /** @type {Resource[]} */ (list.data.data) : [];
    const current = list.data && list.data.meta ? list.data.meta['current-id'] : null;
    const uploaded = versions.filter((v) => v.attributes && v.attributes.status === 'uploaded');
    return html`<section aria-labelledby="cv-list">
            <h2 id="cv-list">Configuration versions</h2>
            <${ErrorNote} error=${list.error || download.error} />
            ${!list.data && !list.error && html`<${Loading} />`}
            ${list.data && versions.length === 0 && html`<p>No configuration has been uploaded to this workspace.</p>`}
            ${versions.length > 0 && html`<div class="table-wrap"><table class="list">
                <thead><tr>
                    <th scope="col">Version</th><th scope="col">Status</th><th scope="col">Source</th>
                    <th scope="col">By</th><th scope="col">Created</th><th scope="col">Size</th>
                    <th scope="col"><span class="visually-hidden">Actions</span></th>
                </tr></thead>
                <tbody>${versions.map((cv) => html`<${VersionRow} key=${cv.id} cv=${cv} current=${cv.id === current}
                    busy=${download.busy} onDownload=${fetchTarball} />`)}</tbody>
            </table></div>`}
            ${list.data && list.data.meta && list.data.meta.pagination
                && list.data.meta.pagination['total-pages'] > 1 && html`<${Pager}
                pagination=${list.data.meta.pagination} go=${setPage} noun="versions" />`}
        </section>
        ${uploaded.length > 1 && html`<${CompareVersions} versions=${uploaded} id="cv-compare"
            name=${(/** @type {Resource} */ v) => `${v.id} (${when(v.attributes && v.attributes['created-at'])})`}
            diff=${(/** @type {string} */ from, /** @type {string} */ to) => html`<${ConfigDiff} from=${from} to=${to} />`} />`}`;
}

/**
 * @param {{cv: Resource, current: boolean, busy: boolean, onDownload: (cv: Resource) => any}} props
 */
function VersionRow({ cv, current, busy, onDownload }) {
    const a = cv.attributes || {};
    const flags = [a.speculative && 'speculative', a.provisional && 'provisional'].filter(Boolean);
    return html`<tr data-cv=${cv.id}>
        <th scope="row"><code>${cv.id}</code>
            ${current && html` <span class="badge badge-current">Current</span>`}</th>
        <td>${a.status}${flags.length > 0 && ` (${flags.join(', ')})`}
            ${a['error-message'] && html`<br /><span class="error-text">${a['error-message']}</span>`}</td>
        <td>${a.source}</td>
        <td>${a['created-by']}</td>
        <td>${when(a['created-at'])}</td>
        <td>${bytes(a.size)}</td>
        <td class="row-actions">${a.status === 'uploaded' && html`<button type="button" disabled=${busy}
            onClick=${() => onDownload(cv)}>Download<span class="visually-hidden"> ${cv.id}</span></button>`}</td>
    </tr>`;
}

/** @param {{from: string, to: string}} props */
function ConfigDiff({ from, to }) {
    const { data, error } = useLoad(() => api.post('/api/terrapod/v1/configuration-versions/diff', {
        data: { type: 'configuration-version-diffs', attributes: { 'from-id': from, 'to-id': to } },
    }), [from, to]);
    if (error) {
        return html`<${ErrorNote} error=${error} />`;
    }
    if (!data) {
        return html`<${Loading} />`;
    }
    const a = data.data.attributes;
    /** @type {FileDiff[]} */
    const files = a.files || [];
    /** @type {string[]} */
    const oversized = a.oversized || [];
    return html`<div data-testid="cv-diff">
        <p role="status">${files.length === 0 && oversized.length === 0 ? 'The two versions hold the same files.'
            : `${files.length + oversized.length} file${files.length + oversized.length === 1 ? '' : 's'} changed.`}</p>
        ${files.map((f) => html`<${FileChange} key=${f.path} file=${f} />`)}
        ${oversized.length > 0 && html`<section class="diff-file" aria-label="Large files">
            <h3>Changed files too large to compare</h3>
            <ul>${oversized.map((p) => html`<li><code>${p}</code></li>`)}</ul>
        </section>`}
    </div>`;
}

/** @param {{file: FileDiff}} props */
function FileChange({ file }) {
    const kind = CHANGE[/** @type {keyof typeof CHANGE} */ (file.type)] || file.type;
    return html`<section class="diff-file" aria-label=${file.path}>
        <h3>${file.path} <span class="badge badge-done">${kind}</span></h3>
        ${file.diff ? html`<${SideBySide} diff=${file.diff} />`
            : html`<p class="muted">No text to compare.</p>`}
    </section>`;
}

/**
 * @param {import('../lib/diff.js').Cell | null} c
 * @returns {any[]}
 */
function cells(c) {
    if (!c) {
        return [html`<td class="no gap"></td>`, html`<td class="gap"></td>`];
    }
    const cls = c.kind === '-' ? 'del' : c.kind === '+' ? 'add' : '';
    const text = html`${c.text}${c.noEol ? html` <span class="muted">(no newline at end of file)</span>` : ''}`;
    return [html`<td class=${`no ${cls}`}>${c.no}</td>`,
        html`<td class=${cls}>${c.kind === '-' ? html`<del>${text}</del>` : c.kind === '+' ? html`<ins>${text}</ins>`
            : text}</td>`];
}

/** @param {{diff: string}} props */
function SideBySide({ diff }) {
    return html`<div class="table-wrap"><table class="diff">
        <colgroup><col class="no" /><col /><col class="no" /><col /></colgroup>
        <thead class="visually-hidden"><tr>
            <th scope="col">Line before</th><th scope="col">Before</th>
            <th scope="col">Line after</th><th scope="col">After</th>
        </tr></thead>
        <tbody>${sideBySide(diff).map((r) => ('header' in r
            ? html`<tr class="hunk"><td colspan="4">${r.header}</td></tr>`
            : html`<tr>${cells(r.left)}${cells(r.right)}</tr>`))}</tbody>
    </table></div>`;
}
