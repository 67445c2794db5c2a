// @ts-check
// A secret the server shows once (a new or rotated token, a join token):
// in a read-only field to copy, with a warning that it will not be shown
// again; "Done" forgets it.
import { html } from '../lib/html.js';

/**
 * @param {{label: string, secret: string, onDone: () => void}} props
 */
export function SecretOnce({ label, secret, onDone }) {
    const copy = () => navigator.clipboard && navigator.clipboard.writeText(secret).catch(() => {});
    return html`<div class="secret" role="status">
        <p><strong>${label}</strong>: copy it now. It is shown only this once.</p>
        <p>
            <input class="secret-value" type="text" readonly value=${secret} aria-label=${label}
                onFocus=${(/** @type {any} */ e) => e.currentTarget.select()} />
            <button type="button" onClick=${copy}>Copy</button>
            <button type="button" onClick=${onDone}>Done</button>
        </p>
    </div>`;
}
