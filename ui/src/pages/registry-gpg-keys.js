// @ts-check
// GPG keys: the publishers' public keys provider signatures are verified
// against, and a form to register one. Registry admins register and
// remove them (the server decides); removing a key that signed published
// versions is asked about again, since those versions then stop
// installing.
import { useState } from 'preact/hooks';
import { html } from '../lib/html.js';
import { api } from '../lib/session.js';
import { useLoad } from '../lib/hooks.js';
import { useAction } from '../lib/action.js';
import { inputValue } from '../lib/forms.js';
import { when } from '../lib/format.js';
import { ErrorNote, Loading } from '../components/common.js';
import { ConfirmButton } from '../components/confirm.js';

const KEYS = '/api/terrapod/v1/gpg-keys';

export function GpgKeysPage() {
    const { data, error, reload } = useLoad(() => api.list(KEYS, 1, 100), []);

    return html`<section>
        <header class="page-head"><h1>GPG keys</h1></header>
        <p>A provider version's SHA256SUMS must be signed by one of these keys.</p>
        <${NewKey} created=${reload} />
        <${ErrorNote} error=${error} />
        ${!data && !error && html`<${Loading} />`}
        ${data && (data.data.length === 0 ? html`<p>No GPG keys yet.</p>`
            : html`<div class="table-wrap"><table class="list">
                <thead><tr>
                    <th scope="col">Key id</th><th scope="col">Fingerprint</th>
                    <th scope="col">Registered by</th><th scope="col">Registered</th><th scope="col"></th>
                </tr></thead>
                <tbody>${data.data.map((k) => html`<${KeyRow} key=${k.id} gpgKey=${k} removed=${reload} />`)}</tbody>
            </table></div>`)}
    </section>`;
}

/** @param {{gpgKey: any, removed: () => void}} props */
function KeyRow({ gpgKey, removed }) {
    const a = gpgKey.attributes;
    const act = useAction();
    const path = `${KEYS}/${encodeURIComponent(a.namespace)}/${encodeURIComponent(a['key-id'])}`;
    /** @param {string} url */
    const remove = async (url) => {
        if (await act.run(() => api.del(url))) {
            removed();
        }
    };
    return html`<tr>
        <th scope="row"><code>${a['key-id']}</code></th>
        <td><code>${a.fingerprint}</code></td>
        <td>${a['created-by']}</td>
        <td>${when(a['created-at'])}</td>
        <td>
            <${ErrorNote} error=${act.error} />
            <${ConfirmButton} label=${`Remove key ${a['key-id']}`} danger=${true} disabled=${act.busy}
                question=${`Remove GPG key ${a['key-id']}?`} yes="Remove it" onConfirm=${() => remove(path)} />
            ${act.error && act.error.status === 409 && html`<${ConfirmButton}
                label=${`Remove key ${a['key-id']} anyway`} danger=${true} disabled=${act.busy}
                question="The versions it signed will no longer install. Remove it anyway?"
                yes="Remove it anyway" onConfirm=${() => remove(`${path}?force=true`)} />`}
        </td>
    </tr>`;
}

/** @param {{created: () => void}} props */
function NewKey({ created }) {
    const [armor, setArmor] = useState('');
    const act = useAction();

    const submit = async (/** @type {Event} */ e) => {
        e.preventDefault();
        const ok = await act.run(() => api.post(KEYS, { data: { type: 'gpg-keys',
            attributes: { namespace: 'default', 'ascii-armor': armor } } }));
        if (ok) {
            setArmor('');
            created();
        }
    };
    return html`<details class="panel">
        <summary>Register a GPG key</summary>
        <form class="stack" onSubmit=${submit}>
            <label>ASCII-armoured public key (gpg --armor --export KEY-ID)
                <textarea required rows="8" value=${armor}
                    onInput=${(/** @type {Event} */ e) => setArmor(inputValue(e))}></textarea></label>
            <${ErrorNote} error=${act.error} />
            <p><button class="primary" type="submit" disabled=${act.busy}>Register key</button></p>
        </form>
    </details>`;
}
