// @ts-check
// The workspaces a workspace is linked with, on its settings tab: run
// triggers (the sources whose applies queue its runs, and the workspaces
// its own applies queue runs in) and remote-state consumers (who may read
// its state, and whose state it may read). Admins of the workspace add
// and remove its sources and its consumers; the others are shown. A
// change made elsewhere shows live (run_trigger_change and
// remote_state_consumer_change reach both workspaces' streams).
import { useState } from 'preact/hooks';
import { html } from '../lib/html.js';
import { api } from '../lib/session.js';
import { useLoad } from '../lib/hooks.js';
import { useAction } from '../lib/action.js';
import { can } from '../lib/perms.js';
import { ORG, workspacePath } from '../lib/paths.js';
import { ErrorNote, Loading } from './common.js';
import { useReloadOn } from './workspace-tab.js';

/**
 * @typedef {import('../lib/api.js').Resource} Resource
 * @typedef {import('./workspace-shell.js').ShellContext} ShellContext
 */

const NATIVE = '/api/terrapod/v1';

/**
 * The id of the workspace called name (a 404 when the person cannot read
 * it, as the API answers).
 * @param {string} name
 */
async function workspaceId(name) {
    const doc = await api.get(`/api/v2/organizations/${ORG}/workspaces/${encodeURIComponent(name)}`);
    return /** @type {any} */ (doc).data.id;
}

/**
 * What a link resource says of one workspace: an attribute holding its name.
 * @param {string} attribute
 * @returns {(r: Resource) => string}
 */
const named = (attribute) => (r) => (r.attributes || {})[attribute] || '';

/** @param {{name: string}} props */
function WorkspaceLink({ name }) {
    return html`<a href=${workspacePath(name)}>${name}</a>`;
}

/**
 * A list of links, each with its workspace and, for admins, a remove
 * button.
 * @param {{title: string, empty: string, load: {data: any, error: any, loading: boolean},
 *   nameOf: (r: Resource) => string, remove?: (r: Resource) => Promise<any>, busy?: boolean}} props
 */
function LinkList({ title, empty, load, nameOf, remove, busy }) {
    if (load.loading && !load.data) {
        return html`<${Loading} />`;
    }
    const list = load.data ? load.data.data : [];
    return html`<h3>${title}</h3>
        <${ErrorNote} error=${load.error} />
        ${list.length === 0 ? html`<p class="muted">${empty}</p>`
            : html`<ul aria-label=${title}>${list.map((/** @type {Resource} */ r) => html`<li key=${r.id}>
                <${WorkspaceLink} name=${nameOf(r)} />
                ${remove && html` <button type="button" disabled=${busy}
                    aria-label=${`Remove ${nameOf(r)}`} onClick=${() => remove(r)}>Remove</button>`}
            </li>`)}</ul>`}`;
}

/**
 * A form that names a workspace and adds it.
 * @param {{label: string, id: string, add: (name: string) => Promise<boolean>, busy: boolean}} props
 */
function AddByName({ label, id, add, busy }) {
    const [name, setName] = useState('');
    /** @param {Event} e */
    const submit = async (e) => {
        e.preventDefault();
        if (await add(name.trim())) {
            setName('');
        }
    };
    return html`<form class="inline" onSubmit=${submit}>
        <label for=${id}>${label}</label>
        <input id=${id} value=${name} autocomplete="off" spellcheck=${false}
            onInput=${(/** @type {any} */ e) => setName(e.currentTarget.value)} />
        <button type="submit" disabled=${busy || !name.trim()}>Add</button>
    </form>`;
}

/** @param {{ws: Resource, ctx: ShellContext}} props */
export function RunTriggers({ ws, ctx }) {
    const list = (/** @type {string} */ type) => api.list(`/api/v2/workspaces/${ws.id}/run-triggers`, 1, 100,
        { 'filter[run-trigger][type]': type });
    const inbound = useLoad(() => list('inbound'), [ws.id]);
    const outbound = useLoad(() => list('outbound'), [ws.id]);
    useReloadOn(ctx, ['run_trigger_change'], () => Promise.all([inbound.reload(), outbound.reload()]));
    const act = useAction();
    const admin = can(ws, 'can-update');

    /** @param {string} name */
    const add = (name) => act.run(async () => {
        await api.post(`/api/v2/workspaces/${ws.id}/run-triggers`, { data: { relationships: {
            sourceable: { data: { type: 'workspaces', id: await workspaceId(name) } } } } });
        await inbound.reload();
    });
    /** @param {Resource} rt */
    const remove = (rt) => act.run(async () => {
        await api.del(`/api/v2/run-triggers/${rt.id}`);
        await inbound.reload();
    });
    return html`<section aria-labelledby="settings-run-triggers">
        <h2 id="settings-run-triggers">Run triggers</h2>
        <p class="muted">A successful apply of a source workspace queues a run here, with this workspace's
            auto-apply; at most 20 sources.</p>
        <${LinkList} title="Sources (inbound)" empty="No workspace triggers runs here." load=${inbound}
            nameOf=${named('sourceable-name')}
            remove=${admin ? remove : undefined} busy=${act.busy} />
        ${admin && html`<${AddByName} label="Source workspace" id="run-trigger-source" add=${add}
            busy=${act.busy} />`}
        <${ErrorNote} error=${act.error} />
        <${LinkList} title="Destinations (outbound)" empty="This workspace's applies trigger no runs."
            load=${outbound} nameOf=${named('workspace-name')} />
    </section>`;
}

/** @param {{ws: Resource, ctx: ShellContext}} props */
export function RemoteStateConsumers({ ws, ctx }) {
    const path = `${NATIVE}/workspaces/${ws.id}/remote-state-consumers`;
    const list = (/** @type {string} */ type) => api.list(path, 1, 100,
        { 'filter[remote-state-consumer][type]': type });
    const consumers = useLoad(() => list('outbound'), [ws.id]);
    const producers = useLoad(() => list('inbound'), [ws.id]);
    useReloadOn(ctx, ['remote_state_consumer_change'],
        () => Promise.all([consumers.reload(), producers.reload()]));
    const act = useAction();
    const admin = can(ws, 'can-update');
    const global = !!(ws.attributes || {})['global-remote-state'];

    /** @param {string} name */
    const add = (name) => act.run(async () => {
        await api.post(path, { data: { relationships: {
            consumer: { data: { type: 'workspaces', id: await workspaceId(name) } } } } });
        await consumers.reload();
    });
    /** @param {Resource} grant */
    const remove = (grant) => act.run(async () => {
        await api.del(`${NATIVE}/remote-state-consumers/${grant.id}`);
        await consumers.reload();
    });
    return html`<section aria-labelledby="settings-remote-state">
        <h2 id="settings-remote-state">Remote state</h2>
        <p class="muted">${global
            ? 'This workspace shares its state with every workspace (see "Share state with every workspace" above).'
            : 'Runs of the workspaces listed here may read this workspace\'s state with terraform_remote_state.'}</p>
        <${LinkList} title="Consumers" empty="No workspace is listed." load=${consumers}
            nameOf=${named('consumer-workspace-name')}
            remove=${admin ? remove : undefined} busy=${act.busy} />
        ${admin && html`<${AddByName} label="Consumer workspace" id="remote-state-consumer" add=${add}
            busy=${act.busy} />`}
        <${ErrorNote} error=${act.error} />
        <${LinkList} title="Reads the state of" empty="No workspace lists this one as a consumer."
            load=${producers} nameOf=${named('producer-workspace-name')} />
    </section>`;
}
