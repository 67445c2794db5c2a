// @ts-check
// What the VCS connection pages share: the form that creates or changes a
// connection (the private key, token and webhook secret are write-only:
// the form says whether one is stored and sends one only when typed), and
// a connection's health in words.
import { useState } from 'preact/hooks';
import { html } from '../lib/html.js';
import { useAction } from '../lib/action.js';
import { inputValue } from '../lib/forms.js';
import { connectionForm, connectionAttributes, healthOf } from '../lib/vcs.js';
import { ErrorNote } from './common.js';

/** @typedef {import('../lib/api.js').Resource} Resource */

/**
 * Creates a connection (no current) or changes one.
 * @param {{current?: Resource, send: (attributes: Record<string, any>) => Promise<any>, done?: () => void}} props
 */
export function ConnectionForm({ current, send, done }) {
    const a = (current && current.attributes) || {};
    const [f, setF] = useState(() => connectionForm(a));
    const [saved, setSaved] = useState(false);
    const act = useAction();
    const github = f.provider === 'github';
    /** @param {keyof import('../lib/vcs.js').ConnectionForm} k */
    const bind = (k) => ({
        value: f[k],
        onInput: (/** @type {Event} */ e) => {
            setSaved(false);
            setF({ ...f, [k]: inputValue(e) });
        },
    });

    const submit = async (/** @type {Event} */ e) => {
        e.preventDefault();
        if (await act.run(() => send(connectionAttributes(f, !current)))) {
            // a typed secret is sent once; the field empties again
            setF({ ...f, secret: '', webhookSecret: '' });
            setSaved(true);
            if (done) {
                done();
            }
        }
    };
    const stored = current ? (github ? 'A private key is stored' : 'A token is stored') : '';
    return html`<form class="stack" onSubmit=${submit} aria-label=${current ? 'Connection settings' : 'New connection'}>
        <label>Name <input required ...${bind('name')} /></label>
        ${current ? html`<p>Provider: <strong>${github ? 'GitHub App' : 'GitLab'}</strong></p>`
            : html`<label>Provider <select ...${bind('provider')}>
                <option value="github">GitHub App</option>
                <option value="gitlab">GitLab</option>
            </select></label>`}
        <label>Server URL <input ...${bind('serverUrl')} placeholder=${github ? 'https://api.github.com'
            : 'https://gitlab.com'} /></label>
        <p class="hint">Empty for ${github ? 'github.com' : 'gitlab.com'}; for GitHub Enterprise its API address
            (https://HOST/api/v3), for a GitLab of your own its address.</p>
        <label>Status <select ...${bind('status')}>
            <option value="active">Active</option>
            <option value="disabled">Disabled: nothing is fetched or polled</option>
        </select></label>
        ${github && html`
            <label>App ID <input required inputmode="numeric" ...${bind('appId')} /></label>
            <label>Installation ID <input required inputmode="numeric" ...${bind('installationId')} /></label>
            <label>Account login <input ...${bind('accountLogin')} /></label>
            <label>Account type <select ...${bind('accountType')}>
                <option value="Organization">Organization</option>
                <option value="User">User</option>
            </select></label>`}
        <label>${github ? 'Private key (PEM)' : 'Token'}
            ${github ? html`<textarea rows="4" required=${!current} autocomplete="off" spellcheck=${false}
                    placeholder=${current ? 'unchanged (write-only)' : '-----BEGIN RSA PRIVATE KEY-----'}
                    ...${bind('secret')}></textarea>`
                : html`<input type="password" required=${!current} autocomplete="off"
                    placeholder=${current ? 'unchanged (write-only)' : ''} ...${bind('secret')} />`}
        </label>
        ${current && html`<p class="hint">${stored}: it is never shown. Type a new one to replace it.</p>`}
        <label>Webhook secret <input type="password" autocomplete="off" ...${bind('webhookSecret')}
            placeholder=${a['has-webhook-secret'] ? 'unchanged (write-only)' : ''} /></label>
        <p class="hint">${a['has-webhook-secret'] ? 'A webhook secret is set: it is never shown. Type a new one to replace it.'
            : 'No webhook secret is set for this connection: the server-wide one, if any, applies.'}</p>
        <${ErrorNote} error=${act.error} />
        <p>
            <button class="primary" type="submit" disabled=${act.busy}>${current ? 'Save connection' : 'Create connection'}</button>
            ${saved && current && html` <span role="status">Connection saved.</span>`}
        </p>
    </form>`;
}

const HEALTH = {
    ok: { kind: 'ok', text: 'Working' },
    failing: { kind: 'bad', text: 'Failing' },
    unknown: { kind: 'done', text: 'Not used yet' },
};

/** @param {{attrs: Record<string, any>}} props */
export function Health({ attrs: a }) {
    const h = HEALTH[healthOf(a)];
    return html`<span class=${`badge badge-${h.kind}`}>${h.text}</span>`;
}
