// @ts-check
// One agent pool: its listeners (followed live by the pool's event stream,
// or read again every 30 s without one), its join tokens, and the
// workspaces that run on it. Controls follow the pool's permissions.
import { useEffect, useState } from 'preact/hooks';
import { html } from '../lib/html.js';
import { api } from '../lib/session.js';
import { useLoad, useLive, useInterval } from '../lib/hooks.js';
import { useAction, confirmed } from '../lib/action.js';
import { can } from '../lib/perms.js';
import { assignedWorkspaces, LISTENER_EVENTS } from '../lib/pools.js';
import { inputValue, optionalInt } from '../lib/forms.js';
import { labelList, when } from '../lib/format.js';
import { navigate } from '../lib/nav.js';
import { workspacePath } from '../lib/paths.js';
import { Link, ErrorNote, Loading } from '../components/common.js';
import { SecretOnce } from '../components/secret.js';

const V1 = '/api/terrapod/v1';
/** Workspaces read to find the pool's, at most this many pages of 100. */
const WORKSPACE_PAGES = 20;

/** @param {{params: {id: string}}} props */
export function AgentPoolPage({ params }) {
    const id = params.id;
    const pool = useLoad(() => api.get(`${V1}/agent-pools/${encodeURIComponent(id)}`), [id]);
    const p = pool.data && pool.data.data;
    const act = useAction();
    // a listener's heartbeat or join changes its row and its join token's uses
    const [tick, setTick] = useState(0);
    const live = useLive(`${V1}/agent-pools/${encodeURIComponent(id)}/events`, (e) => {
        if (LISTENER_EVENTS.has(e.event)) {
            setTick((t) => t + 1);
        }
    });
    useInterval(() => setTick((t) => t + 1), 30000, live === 'unavailable');

    if (pool.error && !p) {
        return html`<h1>Agent pool</h1><${ErrorNote} error=${pool.error} />`;
    }
    if (!p) {
        return html`<${Loading} />`;
    }
    const remove = async () => {
        if (confirmed(`Delete the agent pool ${p.attributes.name}?`)
            && await act.run(() => api.del(`${V1}/agent-pools/${encodeURIComponent(id)}`))) {
            navigate('/app/admin/agent-pools');
        }
    };
    return html`<article>
        <header class="page-head">
            <p class="crumbs"><${Link} to="/app/admin/agent-pools">Agent pools<//></p>
            <h1>${p.attributes.name}</h1>
        </header>
        ${p.attributes.description && html`<p>${p.attributes.description}</p>`}
        <p>${labelList(p.attributes.labels).map((l) => html`<span class="label">${l}</span> `)}</p>
        <${Listeners} pool=${p} tick=${tick} live=${live} />
        ${can(p, 'can-manage-tokens') && html`<${JoinTokens} pool=${p} tick=${tick} />`}
        <${PoolWorkspaces} pool=${p} />
        ${can(p, 'can-destroy') && html`<h2>Delete</h2>
            <${ErrorNote} error=${act.error} />
            <p><button class="danger" type="button" disabled=${act.busy} onClick=${remove}>Delete pool</button></p>`}
    </article>`;
}

/**
 * Reads a section again each time tick moves on (an event, or the poll).
 * @param {number} tick
 * @param {() => void} reload
 */
function useTick(tick, reload) {
    useEffect(() => {
        if (tick) {
            reload();
        }
    }, [tick]);
}

/**
 * @param {{pool: import('../lib/api.js').Resource, tick: number,
 *   live: import('../lib/events.js').StreamState}} props
 */
function Listeners({ pool, tick, live }) {
    const path = `${V1}/agent-pools/${encodeURIComponent(pool.id)}/listeners`;
    const { data, error, reload } = useLoad(() => api.list(path, 1, 100), [path]);
    useTick(tick, reload);
    const act = useAction();
    const admin = can(pool, 'can-update');

    /**
     * @param {import('../lib/api.js').Resource} l
     * @param {'revoke'|'delete'} what
     */
    const change = async (l, what) => {
        const name = (l.attributes || {}).name;
        const q = what === 'revoke'
            ? `Revoke the listener ${name}? It is refused from now on and cannot join again under this name.`
            : `Remove the listener ${name}? Its runs are errored; it may join again with a valid join token.`;
        if (!confirmed(q)) {
            return;
        }
        const url = `${V1}/listeners/${encodeURIComponent(l.id)}`;
        await act.run(() => (what === 'revoke' ? api.post(`${url}/actions/revoke`) : api.del(url)));
        reload();
    };
    return html`<section aria-labelledby="listeners-h">
        <header class="page-head">
            <h2 id="listeners-h">Listeners</h2>
            <span class=${`live live-${live}`} role="status">${live === 'open' ? 'Live'
                : live === 'unavailable' ? 'Not live: refreshing every 30 seconds' : 'Connecting…'}</span>
        </header>
        <${ErrorNote} error=${error || act.error} />
        ${!data && !error && html`<${Loading} />`}
        ${data && (data.data.length === 0 ? html`<p>No listener has joined this pool.</p>`
            : html`<div class="table-wrap"><table class="list">
                <thead><tr>
                    <th scope="col">Name</th><th scope="col">Status</th><th scope="col">Capacity</th>
                    <th scope="col">Last heartbeat</th><th scope="col">Version</th>
                    <th scope="col">Certificate expires</th>
                    ${admin && html`<th scope="col"><span class="visually-hidden">Actions</span></th>`}
                </tr></thead>
                <tbody>${data.data.map((l) => {
                    const a = l.attributes || {};
                    return html`<tr key=${l.id} data-listener=${a.name}>
                        <th scope="row">${a.name}</th>
                        <td><span class=${`badge badge-${a.status === 'online' ? 'ok' : a.revoked ? 'bad' : 'done'}`}>${a.status}</span>
                            ${a.revoked && html` <span class="muted">revoked ${when(a['revoked-at'])}${a['revoked-by'] ? ` by ${a['revoked-by']}` : ''}</span>`}</td>
                        <td>${a.capacity}</td>
                        <td>${when(a['last-heartbeat-at']) || html`<span class="muted">never</span>`}</td>
                        <td>${a.version}</td>
                        <td>${when(a['certificate-expires-at'])}</td>
                        ${admin && html`<td class="actions">
                            ${!a.revoked && html`<button class="danger" type="button" disabled=${act.busy}
                                aria-label=${`Revoke ${a.name}`} onClick=${() => change(l, 'revoke')}>Revoke</button> `}
                            <button class="danger" type="button" disabled=${act.busy}
                                aria-label=${`Remove ${a.name}`} onClick=${() => change(l, 'delete')}>Remove</button>
                        </td>`}
                    </tr>`;
                })}</tbody>
            </table></div>`)}
    </section>`;
}

/** @param {{pool: import('../lib/api.js').Resource, tick: number}} props */
function JoinTokens({ pool, tick }) {
    const path = `${V1}/agent-pools/${encodeURIComponent(pool.id)}/authentication-tokens`;
    const { data, error, reload } = useLoad(() => api.list(path, 1, 100), [path]);
    useTick(tick, reload);
    const [description, setDescription] = useState('');
    const [maxUses, setMaxUses] = useState('');
    const [hours, setHours] = useState('');
    const [secret, setSecret] = useState('');
    const act = useAction();

    const create = async (/** @type {Event} */ e) => {
        e.preventDefault();
        await act.run(async () => {
            const doc = await api.post(path, { data: { type: 'authentication-tokens', attributes: {
                description, 'max-uses': optionalInt(maxUses), 'lifespan-hours': optionalInt(hours) } } });
            setSecret(doc.data.attributes.token);
            setDescription('');
            setMaxUses('');
            setHours('');
        });
        reload();
    };
    const revoke = async (/** @type {import('../lib/api.js').Resource} */ t) => {
        if (confirmed(`Revoke the join token "${(t.attributes || {}).description || t.id}"?`)) {
            await act.run(() => api.del(`${path}/${encodeURIComponent(t.id)}`));
            reload();
        }
    };
    return html`<section aria-labelledby="tokens-h">
        <h2 id="tokens-h">Join tokens</h2>
        ${secret && html`<${SecretOnce} label="New join token" secret=${secret} onDone=${() => setSecret('')} />`}
        <details class="panel">
            <summary>New join token</summary>
            <form class="stack" onSubmit=${create}>
                <label>Description <input value=${description}
                    onInput=${(/** @type {Event} */ e) => setDescription(inputValue(e))} /></label>
                <label>Maximum uses <input type="number" min="1" value=${maxUses} placeholder="unlimited"
                    onInput=${(/** @type {Event} */ e) => setMaxUses(inputValue(e))} /></label>
                <label>Lifespan in hours <input type="number" min="1" value=${hours} placeholder="no expiry"
                    onInput=${(/** @type {Event} */ e) => setHours(inputValue(e))} /></label>
                <p><button class="primary" type="submit" disabled=${act.busy}>Create join token</button></p>
            </form>
        </details>
        <${ErrorNote} error=${error || act.error} />
        ${data && (data.data.length === 0 ? html`<p>No join tokens.</p>`
            : html`<div class="table-wrap"><table class="list">
                <thead><tr>
                    <th scope="col">Description</th><th scope="col">Created</th><th scope="col">Uses</th>
                    <th scope="col">Expires</th><th scope="col">State</th>
                    <th scope="col"><span class="visually-hidden">Actions</span></th>
                </tr></thead>
                <tbody>${data.data.map((t) => {
                    const a = t.attributes || {};
                    return html`<tr key=${t.id} data-token=${t.id}>
                        <th scope="row">${a.description || html`<span class="muted">${t.id}</span>`}</th>
                        <td>${when(a['created-at'])} ${a['created-by'] && html`<span class="muted">by ${a['created-by']}</span>`}</td>
                        <td>${a.uses}${a['max-uses'] !== null ? ` of ${a['max-uses']}` : ''}</td>
                        <td>${when(a['expires-at']) || html`<span class="muted">never</span>`}</td>
                        <td>${a.revoked ? html`<span class="badge badge-bad">revoked</span>` : html`<span class="badge badge-ok">active</span>`}</td>
                        <td>${!a.revoked && html`<button class="danger" type="button" disabled=${act.busy}
                            aria-label=${`Revoke join token ${a.description || t.id}`}
                            onClick=${() => revoke(t)}>Revoke</button>`}</td>
                    </tr>`;
                })}</tbody>
            </table></div>`)}
    </section>`;
}

/** @param {{pool: import('../lib/api.js').Resource}} props */
function PoolWorkspaces({ pool }) {
    const { data, error } = useLoad(async () => {
        /** @type {any[]} */
        const all = [];
        let page = 1;
        let more = true;
        for (; more && page <= WORKSPACE_PAGES; page++) {
            const list = await api.list(`${V1}/workspaces`, page, 100);
            all.push(...list.data);
            more = !!list.pagination['next-page'];
        }
        return { workspaces: assignedWorkspaces(pool, all), partial: more };
    }, [pool.id]);

    return html`<section aria-labelledby="ws-h">
        <h2 id="ws-h">Workspaces on this pool</h2>
        <${ErrorNote} error=${error} />
        ${!data && !error && html`<${Loading} />`}
        ${data && (data.workspaces.length === 0 ? html`<p>No workspace you can read runs on this pool.</p>`
            : html`<ul>${data.workspaces.map((w) => html`<li key=${w.attributes.name}>
                <${Link} to=${workspacePath(w.attributes.name)}>${w.attributes.name}<//></li>`)}</ul>`)}
        ${data && data.partial && html`<p class="muted">Only the first ${WORKSPACE_PAGES * 100} workspaces were looked at.</p>`}
    </section>`;
}
