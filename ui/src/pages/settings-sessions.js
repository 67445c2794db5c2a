// @ts-check
// The signed-in person's browser sessions: where and when each started and
// was last used, and which one this is. The API ends only the session that
// asks (the header's "Sign out"); there is no call that ends another.
import { html } from '../lib/html.js';
import { api } from '../lib/session.js';
import { useLoad } from '../lib/hooks.js';
import { when } from '../lib/format.js';
import { navigate } from '../lib/nav.js';
import { ErrorNote, Loading, Pager } from '../components/common.js';

/** @param {{query: URLSearchParams}} props */
export function SessionsPage({ query }) {
    const page = Number(query.get('page')) || 1;
    const { data, error } = useLoad(() => api.list('/api/terrapod/v1/auth/sessions', page, 20), [page]);
    return html`<section>
        <header class="page-head"><h1>Sessions</h1></header>
        <p class="muted">Where you are signed in. A session ends when you sign out there, after it has
            been idle for a while, or at its latest end. To end another session now, sign out in that
            browser; an administrator can end them all by deactivating the account.</p>
        <${ErrorNote} error=${error} />
        ${!data && !error && html`<${Loading} />`}
        ${data && html`${data.data.length === 0 ? html`<p>No sessions: you are signed in with an API token.</p>`
            : html`<div class="table-wrap"><table class="list">
                <thead><tr>
                    <th scope="col">Browser</th><th scope="col">Address</th><th scope="col">Signed in</th>
                    <th scope="col">Last seen</th><th scope="col">Ends at the latest</th>
                </tr></thead>
                <tbody>${data.data.map((s) => {
                    const a = s.attributes || {};
                    return html`<tr key=${s.id}>
                        <th scope="row">${a['user-agent'] || html`<span class="muted">unknown</span>`}
                            ${a.current && html` <span class="badge badge-ok">this session</span>`}</th>
                        <td>${a['client-address']}</td>
                        <td>${when(a['created-at'])} <span class="muted">(${a['provider-name']})</span></td>
                        <td>${when(a['last-seen-at'])}</td>
                        <td>${when(a['max-expires-at'])}</td>
                    </tr>`;
                })}</tbody>
            </table></div>`}
            <${Pager} pagination=${data.pagination} noun="sessions"
                go=${(/** @type {number} */ p) => navigate(`/app/settings/sessions?page=${p}`, { replace: true })} />`}
    </section>`;
}
