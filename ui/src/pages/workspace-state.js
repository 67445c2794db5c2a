// @ts-check
// A workspace's state tab: the current outputs (sensitive values hidden by
// the API), the state versions with who made them and when, their
// downloads, a diff of two of them (made here from the two downloads: the
// API has none), rollback to an older one and deletion of old ones.
import { useState } from 'preact/hooks';
import { html } from '../lib/html.js';
import { api } from '../lib/session.js';
import { useLoad } from '../lib/hooks.js';
import { useAction } from '../lib/action.js';
import { can } from '../lib/perms.js';
import { when, bytes } from '../lib/format.js';
import { diffLines, hunks } from '../lib/diff.js';
import { stateLines } from '../lib/state.js';
import { WorkspaceShell } from '../components/workspace-shell.js';
import { ErrorNote, Loading, Pager } from '../components/common.js';
import { ConfirmButton } from '../components/confirm.js';
import { useReloadOn } from '../components/workspace-tab.js';
import { CompareVersions } from '../components/compare.js';

/**
 * @typedef {import('../lib/api.js').Resource} Resource
 * @typedef {import('../components/workspace-shell.js').ShellContext} ShellContext
 */

const PAGE_SIZE = 20;

/** @param {{params: {name: string}}} props */
export function WorkspaceStatePage({ params }) {
    return html`<${WorkspaceShell} name=${params.name} tab="state">
        ${(/** @type {Resource} */ ws, /** @type {ShellContext} */ ctx) => html`<${StateTab} ws=${ws} ctx=${ctx} />`}
    <//>`;
}

/**
 * What the reader may do with versions. Raw state needs plan, the level
 * can-queue-run stands for; deleting an old version needs admin, the
 * level of can-update.
 * @param {Resource} ws
 */
function rights(ws) {
    return {
        download: can(ws, 'can-queue-run'),
        rollback: can(ws, 'can-create-state-versions'),
        remove: can(ws, 'can-update'),
    };
}

/** @param {{ws: Resource, ctx: ShellContext}} props */
function StateTab({ ws, ctx }) {
    const [page, setPage] = useState(1);
    const versions = useLoad(() => api.list(`/api/v2/workspaces/${ws.id}/state-versions`, page, PAGE_SIZE),
        [ws.id, page]);
    const outputs = useLoad(() => api.get(`/api/v2/workspaces/${ws.id}/current-state-version-outputs`)
        .catch((e) => {
            // no state yet: no outputs either
            if (e.status === 404) return { data: [] };
            throw e;
        }), [ws.id]);
    const act = useAction();
    const may = rights(ws);
    const reload = () => {
        versions.reload();
        outputs.reload();
    };
    useReloadOn(ctx, ['state_version_created'], reload);

    /** @param {Resource} sv */
    const rollback = (sv) => act.run(async () => {
        await api.post(`/api/terrapod/v1/state-versions/${sv.id}/actions/rollback`);
        reload();
        ctx.reload();
    });
    /** @param {Resource} sv */
    const remove = (sv) => act.run(async () => {
        await api.del(`/api/terrapod/v1/state-versions/${sv.id}/manage`);
        reload();
    });

    const list = versions.data ? versions.data.data : [];
    return html`<section aria-labelledby="state-outputs">
            <h2 id="state-outputs">Outputs</h2>
            <${ErrorNote} error=${outputs.error} />
            ${outputs.data && html`<${Outputs} outputs=${outputs.data.data} />`}
        </section>
        <section aria-labelledby="state-versions">
            <h2 id="state-versions">State versions</h2>
            <${ErrorNote} error=${versions.error || act.error} />
            ${!versions.data && !versions.error && html`<${Loading} />`}
            ${versions.data && list.length === 0 && html`<p>This workspace has no state yet.</p>`}
            ${list.length > 0 && html`<div class="table-wrap"><table class="list">
                <thead><tr>
                    <th scope="col">Serial</th><th scope="col">Created</th><th scope="col">By</th>
                    <th scope="col">Terraform</th><th scope="col">Size</th>
                    <th scope="col"><span class="visually-hidden">Actions</span></th>
                </tr></thead>
                <tbody>${list.map((sv) => html`<${VersionRow} key=${sv.id} sv=${sv} may=${may} busy=${act.busy}
                    onRollback=${rollback} onDelete=${remove} />`)}</tbody>
            </table></div>`}
            ${versions.data && versions.data.pagination['total-pages'] > 1 && html`<${Pager}
                pagination=${versions.data.pagination} go=${setPage} noun="versions" />`}
        </section>
        ${may.download && list.length > 1 && html`<${CompareVersions} versions=${list} id="state-compare"
            name=${(/** @type {Resource} */ v) => `Serial ${v.attributes && v.attributes.serial}`}
            diff=${(/** @type {string} */ from, /** @type {string} */ to) => html`<${StateDiff} from=${from} to=${to} />`} />`}`;
}

/** @param {{outputs: Resource[]}} props */
function Outputs({ outputs }) {
    if (outputs.length === 0) {
        return html`<p>The current state has no outputs.</p>`;
    }
    return html`<div class="table-wrap"><table class="list" data-testid="outputs">
        <thead><tr><th scope="col">Name</th><th scope="col">Type</th><th scope="col">Value</th></tr></thead>
        <tbody>${outputs.map((o) => {
            const a = o.attributes || {};
            return html`<tr key=${o.id}>
                <th scope="row"><code>${a.name}</code></th>
                <td>${a.type}</td>
                <td>${a.sensitive ? html`<span class="muted">Sensitive: hidden</span>`
                    : html`<code class="value">${typeof a.value === 'string' ? a.value
                        : JSON.stringify(a.value)}</code>`}</td>
            </tr>`;
        })}</tbody>
    </table></div>`;
}

/**
 * @param {{sv: Resource, may: ReturnType<typeof rights>, busy: boolean,
 *   onRollback: (sv: Resource) => any, onDelete: (sv: Resource) => any}} props
 */
function VersionRow({ sv, may, busy, onRollback, onDelete }) {
    const a = sv.attributes || {};
    const current = a['is-current'] === true;
    return html`<tr data-serial=${a.serial}>
        <th scope="row">${a.serial} ${current && html`<span class="badge badge-current">Current</span>`}</th>
        <td>${when(a['created-at'])}</td>
        <td>${a['created-by'] || html`<span class="muted">unknown</span>`}</td>
        <td>${a['terraform-version']}</td>
        <td>${bytes(a.size)}</td>
        <td class="row-actions">
            ${may.download && html`<a class="button" href=${`/api/v2/state-versions/${sv.id}/download`}
                download=${`state-${a.serial}.tfstate`}>Download<span class="visually-hidden">
                serial ${a.serial}</span></a>`}
            ${may.rollback && !current && html`<${ConfirmButton} label="Roll back to this" disabled=${busy}
                question=${`Make serial ${a.serial}'s content current again, as a new version?`}
                yes="Roll back" onConfirm=${() => onRollback(sv)} />`}
            ${may.remove && !current && html`<${ConfirmButton} label="Delete" danger disabled=${busy}
                question=${`Delete state version serial ${a.serial} for good?`} yes="Delete"
                onConfirm=${() => onDelete(sv)} />`}
        </td>
    </tr>`;
}

/**
 * Where a hunk starts on either side, as unified diffs say it.
 * @param {import('../lib/diff.js').NumberedEdit[]} h
 */
function hunkHeader(h) {
    const old = h.find((l) => l.oldNo !== null);
    const neu = h.find((l) => l.newNo !== null);
    return `@@ -${old ? old.oldNo : 0} +${neu ? neu.newNo : 0} @@`;
}

/**
 * The two downloads, line by line, with what terraform marks sensitive
 * hidden (lib/state.js).
 * @param {{from: string, to: string}} props
 */
function StateDiff({ from, to }) {
    const { data, error } = useLoad(async () => {
        const [a, b] = await Promise.all([from, to].map((id) => api.get(`/api/v2/state-versions/${id}/download`)));
        return hunks(diffLines(stateLines(a), stateLines(b)));
    }, [from, to]);
    if (error) {
        return html`<${ErrorNote} error=${error} />`;
    }
    if (!data) {
        return html`<${Loading} />`;
    }
    if (data.length === 0) {
        return html`<p role="status">The two versions hold the same state.</p>`;
    }
    return html`<div class="table-wrap"><table class="diff" data-testid="state-diff">
        <caption class="visually-hidden">Lines removed and added between the two versions</caption>
        <colgroup><col class="no" /><col class="no" /><col /></colgroup>
        <thead class="visually-hidden"><tr>
            <th scope="col">Line before</th><th scope="col">Line after</th><th scope="col">Content</th>
        </tr></thead>
        ${data.map((h) => html`<tbody>
            <tr class="hunk"><td colspan="3">${hunkHeader(h)}</td></tr>
            ${h.map((l) => {
                const kind = l.op === '-' ? 'del' : l.op === '+' ? 'add' : '';
                const text = `${l.op}${l.text}`;
                return html`<tr class=${kind}>
                    <td class="no">${l.oldNo ?? ''}</td><td class="no">${l.newNo ?? ''}</td>
                    <td>${l.op === '-' ? html`<del>${text}</del>` : l.op === '+' ? html`<ins>${text}</ins>` : text}</td>
                </tr>`;
            })}
        </tbody>`)}
    </table></div>`;
}
