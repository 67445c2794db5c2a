// @ts-check
// The binary cache, for platform admins (the API serves it to them alone):
// the releases of terraform and tofu the server keeps, page by page, a
// form to fetch one now, and removing one.
import { useState } from 'preact/hooks';
import { html } from '../lib/html.js';
import { api } from '../lib/session.js';
import { withQuery } from '../lib/api.js';
import { useLoad } from '../lib/hooks.js';
import { useAction } from '../lib/action.js';
import { inputValue } from '../lib/forms.js';
import { when, bytes } from '../lib/format.js';
import { navigate } from '../lib/nav.js';
import { ErrorNote, Loading, Pager } from '../components/common.js';
import { ConfirmButton } from '../components/confirm.js';

const CACHE = '/api/terrapod/v1/admin/binary-cache';

/** @param {{query: URLSearchParams}} props */
export function BinaryCachePage({ query }) {
    const page = Number(query.get('page')) || 1;
    const { data, error, reload } = useLoad(() => api.list(CACHE, page, 50), [page]);

    return html`<section>
        <header class="page-head"><h1>Binary cache</h1></header>
        <p>Releases of terraform and tofu kept by the server, each checked against its signed
            SHA256SUMS. Listeners run a workspace's pinned terraform version from here.</p>
        <${Warm} warmed=${reload} />
        <${ErrorNote} error=${error} />
        ${!data && !error && html`<${Loading} />`}
        ${data && (data.data.length === 0 ? html`<p>No release cached yet.</p>`
            : html`<div class="table-wrap"><table class="list">
                <thead><tr>
                    <th scope="col">Release</th><th scope="col">Platform</th><th scope="col">Size</th>
                    <th scope="col">SHA-256</th><th scope="col">Cached</th><th scope="col"></th>
                </tr></thead>
                <tbody>${data.data.map((e) => html`<${EntryRow} key=${e.id} entry=${e} removed=${reload} />`)}</tbody>
            </table></div>
            <${Pager} pagination=${data.pagination} noun="releases"
                go=${(/** @type {number} */ p) => navigate(withQuery('/app/admin/binary-cache',
                    { page: p > 1 ? p : '' }), { replace: true })} />`)}
    </section>`;
}

/** @param {{entry: any, removed: () => void}} props */
function EntryRow({ entry, removed }) {
    const a = entry.attributes;
    const act = useAction();
    const release = `${a.tool} ${a.version}`;
    const remove = async () => {
        const url = [CACHE, a.tool, a.version, a.os, a.arch].map((x, i) => (i ? encodeURIComponent(x) : x))
            .join('/');
        if (await act.run(() => api.del(url))) {
            removed();
        }
    };
    return html`<tr>
        <th scope="row">${release}</th>
        <td>${a.os}_${a.arch}</td>
        <td>${bytes(a.size)}</td>
        <td><code>${a.shasum}</code></td>
        <td>${when(a['cached-at'])}</td>
        <td>
            <${ErrorNote} error=${act.error} />
            <${ConfirmButton} label=${`Remove ${release} (${a.os}_${a.arch})`} danger=${true}
                disabled=${act.busy} question=${`Remove ${release} for ${a.os}_${a.arch} from the cache?`}
                yes="Remove it" onConfirm=${remove} />
        </td>
    </tr>`;
}

/** @param {{warmed: () => void}} props */
function Warm({ warmed }) {
    const [form, setForm] = useState({ tool: 'terraform', version: '', os: 'linux', arch: 'amd64' });
    const act = useAction();
    /** @param {string} k */
    const set = (k) => (/** @type {Event} */ e) => setForm({ ...form, [k]: inputValue(e) });

    const submit = async (/** @type {Event} */ e) => {
        e.preventDefault();
        const ok = await act.run(() => api.post(`${CACHE}/warm`, { data: {
            type: 'binary-cache-entries', attributes: form } }));
        if (ok) {
            setForm({ ...form, version: '' });
            warmed();
        }
    };
    return html`<details class="panel">
        <summary>Fetch a release</summary>
        <form class="stack" onSubmit=${submit}>
            <label>Tool <select value=${form.tool} onChange=${set('tool')}>
                <option value="terraform">terraform</option>
                <option value="tofu">tofu</option>
            </select></label>
            <label>Version <input required value=${form.version} placeholder="1.11.4"
                onInput=${set('version')} /></label>
            <label>Operating system <input required value=${form.os} onInput=${set('os')} /></label>
            <label>Architecture <input required value=${form.arch} onInput=${set('arch')} /></label>
            <${ErrorNote} error=${act.error} />
            <p><button class="primary" type="submit" disabled=${act.busy}>Fetch release</button></p>
        </form>
    </details>`;
}
