// @ts-check
// A workspace's notification configurations, in its settings: each with
// its destination, triggers and last deliveries; admins add, enable,
// verify and delete them. The token is write-only: the form sends it,
// the list only says whether one is set.
import { useState } from 'preact/hooks';
import { html } from '../lib/html.js';
import { api } from '../lib/session.js';
import { useLoad } from '../lib/hooks.js';
import { useAction } from '../lib/action.js';
import { can } from '../lib/perms.js';
import { ErrorNote, Loading } from './common.js';

/** @typedef {import('../lib/api.js').Resource} Resource */

const TRIGGERS = ['run:created', 'run:planning', 'run:needs_attention', 'run:planned',
    'run:applying', 'run:completed', 'run:errored', 'run:drift_detected',
    'assessment:drifted', 'assessment:failed'];
const DESTINATIONS = ['generic', 'slack', 'microsoft-teams', 'email'];

/** @param {{ws: Resource}} props */
export function Notifications({ ws }) {
    const list = useLoad(() => api.get(`/api/v2/workspaces/${ws.id}/notification-configurations`), [ws.id]);
    const admin = can(ws, 'can-update');
    const configs = /** @type {Resource[]} */ ((list.data && list.data.data) || []);

    return html`<section aria-labelledby="settings-notifications">
        <h2 id="settings-notifications">Notifications</h2>
        ${list.loading && !list.data ? html`<${Loading} />` : html`<${ErrorNote} error=${list.error} />`}
        ${list.data && configs.length === 0 && html`<p>No notification configurations.</p>`}
        ${configs.map((c) => html`<${Configuration} key=${c.id} config=${c} admin=${admin}
            reload=${list.reload} />`)}
        ${admin && html`<${NewConfiguration} ws=${ws} reload=${list.reload} />`}
    </section>`;
}

/** @param {{config: Resource, admin: boolean, reload: () => Promise<void>}} props */
function Configuration({ config, admin, reload }) {
    const a = config.attributes || {};
    const act = useAction();
    const path = `/api/v2/notification-configurations/${config.id}`;
    /** @param {() => Promise<any>} fn */
    const run = async (fn) => {
        if (await act.run(fn)) {
            await reload();
        }
    };
    const responses = /** @type {any[]} */ (a['delivery-responses'] || []);

    return html`<article class="notification" aria-label=${`Notification ${a.name}`}>
        <h3>${a.name} <span class="muted">(${a['destination-type']}${a.enabled ? '' : ', disabled'})</span></h3>
        <p>${a.url || (a['email-addresses'] || []).join(', ')}${a['has-token'] ? ' · signed' : ''}</p>
        <p class="muted">Triggers: ${(a.triggers || []).join(', ') || 'none'}</p>
        ${admin && html`<p class="buttons">
            <button type="button" disabled=${act.busy}
                onClick=${() => run(() => api.post(`${path}/actions/verify`))}>Verify</button>
            <button type="button" disabled=${act.busy}
                onClick=${() => run(() => api.patch(path, { data: { type: 'notification-configurations',
                    attributes: { enabled: !a.enabled } } }))}>${a.enabled ? 'Disable' : 'Enable'}</button>
            <button type="button" class="danger" disabled=${act.busy}
                onClick=${() => run(() => api.del(path))}>Delete</button>
        </p>`}
        <${ErrorNote} error=${act.error} />
        ${responses.length > 0 && html`<table>
            <caption>Last deliveries of ${a.name}</caption>
            <thead><tr><th>Sent</th><th>Trigger</th><th>Result</th><th>Answer</th></tr></thead>
            <tbody>${responses.map((r, i) => html`<tr key=${i}>
                <td>${r['sent-at']}</td><td>${r.trigger}</td>
                <td>${r.successful ? 'delivered' : 'failed'}${r.code ? ` (${r.code})` : ''}</td>
                <td><code>${r.body}</code></td>
            </tr>`)}</tbody>
        </table>`}
    </article>`;
}

/** @param {{ws: Resource, reload: () => Promise<void>}} props */
function NewConfiguration({ ws, reload }) {
    const empty = { name: '', destination: 'generic', url: '', token: '', emails: '', triggers: /** @type {string[]} */ ([]) };
    const [form, setForm] = useState(empty);
    const save = useAction();
    const email = form.destination === 'email';
    /** @param {Partial<typeof empty>} change */
    const edit = (change) => setForm({ ...form, ...change });
    const submit = async (/** @type {Event} */ e) => {
        e.preventDefault();
        /** @type {Record<string, any>} */
        const attributes = { name: form.name, 'destination-type': form.destination,
            triggers: form.triggers, enabled: true };
        if (email) {
            attributes['email-addresses'] = form.emails.split(/[\s,]+/).filter(Boolean);
        } else {
            attributes.url = form.url;
        }
        if (form.destination === 'generic' && form.token) {
            attributes.token = form.token;
        }
        const ok = await save.run(() => api.post(`/api/v2/workspaces/${ws.id}/notification-configurations`,
            { data: { type: 'notification-configurations', attributes } }));
        if (ok) {
            setForm(empty);
            await reload();
        }
    };
    /** @param {string} t @param {boolean} on */
    const toggle = (t, on) => edit({ triggers: on ? [...form.triggers, t] : form.triggers.filter((x) => x !== t) });

    return html`<form class="settings" onSubmit=${submit} aria-label="New notification">
        <h3>New notification</h3>
        <div class="field"><label for="nc-name">Notification name</label>
            <input id="nc-name" value=${form.name} onInput=${(/** @type {any} */ e) => edit({ name: e.currentTarget.value })} /></div>
        <div class="field"><label for="nc-destination">Destination</label>
            <select id="nc-destination" value=${form.destination}
                onChange=${(/** @type {any} */ e) => edit({ destination: e.currentTarget.value })}>
                ${DESTINATIONS.map((d) => html`<option value=${d}>${d}</option>`)}
            </select></div>
        ${email ? html`<div class="field"><label for="nc-emails">Email addresses</label>
                <input id="nc-emails" value=${form.emails}
                    onInput=${(/** @type {any} */ e) => edit({ emails: e.currentTarget.value })} /></div>`
            : html`<div class="field"><label for="nc-url">Destination URL</label>
                <input id="nc-url" type="url" value=${form.url}
                    onInput=${(/** @type {any} */ e) => edit({ url: e.currentTarget.value })} /></div>`}
        ${form.destination === 'generic' && html`<div class="field"><label for="nc-token">Token (signs each payload)</label>
            <input id="nc-token" type="password" autocomplete="off" value=${form.token}
                onInput=${(/** @type {any} */ e) => edit({ token: e.currentTarget.value })} /></div>`}
        <fieldset><legend>Triggers</legend>
            ${TRIGGERS.map((t) => html`<label class="check"><input type="checkbox" checked=${form.triggers.includes(t)}
                onChange=${(/** @type {any} */ e) => toggle(t, e.currentTarget.checked)} /> ${t}</label>`)}
        </fieldset>
        <${ErrorNote} error=${save.error} />
        <p class="buttons"><button type="submit" class="primary" disabled=${save.busy || !form.name}>Add notification</button></p>
    </form>`;
}
