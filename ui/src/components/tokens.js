// @ts-check
// API tokens as both token pages show them: a table whose rows may be
// rotated and revoked, the form that creates one, and the service tokens
// about to expire. A new or rotated secret is shown once.
import { useState } from 'preact/hooks';
import { html } from '../lib/html.js';
import { api } from '../lib/session.js';
import { useLoad } from '../lib/hooks.js';
import { useAction, confirmed } from '../lib/action.js';
import { splitList, optionalInt, inputValue } from '../lib/forms.js';
import { when } from '../lib/format.js';
import { ErrorNote } from './common.js';
import { SecretOnce } from './secret.js';

/** @typedef {import('../lib/api.js').Resource} Resource */

export const TOKENS = '/api/terrapod/v1/authentication-tokens';

/**
 * @param {{tokens: Resource[], owner?: boolean, changed: () => void}} props
 * owner shows whom each token is bound to
 */
export function TokenTable({ tokens, owner, changed }) {
    const [secret, setSecret] = useState('');
    const act = useAction();

    /** @param {Resource} t */
    const name = (t) => (t.attributes && t.attributes.description) || t.id;
    /** @param {Resource} t */
    const doRotate = async (t) => {
        if (!confirmed(`Rotate "${name(t)}"? Its current secret stops working at once.`)) {
            return;
        }
        await act.run(async () => {
            const doc = await api.post(`${TOKENS}/${encodeURIComponent(t.id)}/actions/rotate`);
            setSecret(doc.data.attributes.token);
        });
        changed();
    };
    /** @param {Resource} t */
    const revoke = async (t) => {
        if (confirmed(`Revoke "${name(t)}"? Whatever uses it is refused from now on.`)) {
            await act.run(() => api.del(`${TOKENS}/${encodeURIComponent(t.id)}`));
            changed();
        }
    };
    return html`${secret && html`<${SecretOnce} label="Rotated token" secret=${secret} onDone=${() => setSecret('')} />`}
    <${ErrorNote} error=${act.error} />
    ${tokens.length === 0 ? html`<p>No tokens.</p>` : html`<div class="table-wrap"><table class="list">
        <thead><tr>
            <th scope="col">Description</th><th scope="col">Kind</th>
            ${owner && html`<th scope="col">Bound to</th>`}
            <th scope="col">Pinned roles</th><th scope="col">Created</th><th scope="col">Last used</th>
            <th scope="col">Expires</th><th scope="col"><span class="visually-hidden">Actions</span></th>
        </tr></thead>
        <tbody>${tokens.map((t) => {
            const a = t.attributes || {};
            return html`<tr key=${t.id} data-token=${t.id}>
                <th scope="row">${a.description || html`<span class="muted">${t.id}</span>`}</th>
                <td>${a.kind}</td>
                ${owner && html`<td>${a['bound-to'] || html`<span class="muted">nobody</span>`}</td>`}
                <td>${(a['pinned-roles'] || []).join(', ')}</td>
                <td>${when(a['created-at'])}${a['rotated-at'] ? html`<br /><span class="muted">rotated ${when(a['rotated-at'])}</span>` : ''}</td>
                <td>${when(a['last-used-at']) || html`<span class="muted">never</span>`}</td>
                <td>${when(a['expires-at']) || html`<span class="muted">never</span>`}</td>
                <td class="actions">
                    <button type="button" disabled=${act.busy} aria-label=${`Rotate ${name(t)}`}
                        onClick=${() => doRotate(t)}>Rotate</button>
                    <button class="danger" type="button" disabled=${act.busy} aria-label=${`Revoke ${name(t)}`}
                        onClick=${() => revoke(t)}>Revoke</button>
                </td>
            </tr>`;
        })}</tbody>
    </table></div>`}`;
}

/**
 * Creates a token for the user with this id; service_detached is offered
 * to platform admins only.
 * @param {{userId: string, admin: boolean, created: () => void}} props
 */
export function NewToken({ userId, admin, created }) {
    const [description, setDescription] = useState('');
    const [kind, setKind] = useState('interactive');
    const [hours, setHours] = useState('');
    const [pins, setPins] = useState('');
    const [secret, setSecret] = useState('');
    const act = useAction();

    const submit = async (/** @type {Event} */ e) => {
        e.preventDefault();
        /** @type {Record<string, any>} */
        const attributes = { description, kind, 'lifespan-hours': optionalInt(hours) };
        if (kind !== 'interactive') {
            attributes['pinned-roles'] = splitList(pins);
        }
        await act.run(async () => {
            const doc = await api.post(`/api/terrapod/v1/users/${encodeURIComponent(userId)}/authentication-tokens`,
                { data: { type: 'authentication-tokens', attributes } });
            setSecret(doc.data.attributes.token);
            setDescription('');
            setHours('');
            setPins('');
        });
        created();
    };
    return html`${secret && html`<${SecretOnce} label="New token" secret=${secret} onDone=${() => setSecret('')} />`}
    <details class="panel">
        <summary>New token</summary>
        <form class="stack" onSubmit=${submit}>
            <label>Description <input required value=${description}
                onInput=${(/** @type {Event} */ e) => setDescription(inputValue(e))} /></label>
            <label>Kind <select value=${kind} onChange=${(/** @type {Event} */ e) => setKind(inputValue(e))}>
                <option value="interactive">interactive: acts as you</option>
                <option value="service_bound">service_bound: its pinned roles, while you hold them</option>
                ${admin && html`<option value="service_detached">service_detached: exactly its pinned roles, owned by nobody</option>`}
            </select></label>
            ${kind !== 'interactive' && html`<label>Pinned roles <input required value=${pins} placeholder="role, role"
                onInput=${(/** @type {Event} */ e) => setPins(inputValue(e))} /></label>`}
            <label>Lifespan in hours <input type="number" min="1" value=${hours}
                placeholder=${kind === 'interactive' ? 'no expiry' : 'the longest allowed'}
                onInput=${(/** @type {Event} */ e) => setHours(inputValue(e))} /></label>
            <${ErrorNote} error=${act.error} />
            <p><button class="primary" type="submit" disabled=${act.busy}>Create token</button></p>
        </form>
    </details>`;
}

/** The service tokens expiring soon that the server warns the reader about. */
export function ExpiringTokens() {
    const { data } = useLoad(() => api.list(`${TOKENS}/expiring`, 1, 100), []);
    if (!data || data.data.length === 0) {
        return null;
    }
    return html`<div class="notice" role="status">
        <p><strong>Expiring soon:</strong></p>
        <ul>${data.data.map((t) => html`<li key=${t.id}>${(t.attributes && t.attributes.description) || t.id}
            (${t.attributes && t.attributes.kind}) expires ${when(t.attributes && t.attributes['expires-at'])}</li>`)}</ul>
    </div>`;
}
