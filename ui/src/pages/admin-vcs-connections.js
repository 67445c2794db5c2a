// @ts-check
// VCS connections (platform admins): each with its provider, status and
// health (last success, last error, the provider's rate limit), and a form
// to connect a GitHub App or a GitLab token.
import { html } from '../lib/html.js';
import { api } from '../lib/session.js';
import { useLoad } from '../lib/hooks.js';
import { when } from '../lib/format.js';
import { isAdmin } from '../lib/account.js';
import { navigate } from '../lib/nav.js';
import { vcsConnectionPath } from '../lib/paths.js';
import { VCS_CONNECTIONS, rateLimitText } from '../lib/vcs.js';
import { Link, ErrorNote, Loading } from '../components/common.js';
import { ConnectionForm, Health } from '../components/vcs-connection.js';

/** @param {{account: any}} props */
export function VcsConnectionsPage({ account }) {
    const { data, error } = useLoad(() => api.list(VCS_CONNECTIONS, 1, 100), []);

    return html`<section>
        <header class="page-head"><h1>VCS connections</h1></header>
        <p class="muted">Workspaces bound to a repository fetch their configuration through one of these.</p>
        ${isAdmin(account) && html`<details class="panel">
            <summary>New connection</summary>
            <${ConnectionForm} send=${async (/** @type {Record<string, any>} */ attributes) => {
                const doc = await api.post(VCS_CONNECTIONS, { data: { type: 'vcs-connections', attributes } });
                navigate(vcsConnectionPath(doc.data.id));
            }} />
        </details>`}
        <${ErrorNote} error=${error} />
        ${!data && !error && html`<${Loading} />`}
        ${data && (data.data.length === 0 ? html`<p>No connections yet.</p>`
            : html`<div class="table-wrap"><table class="list">
                <thead><tr>
                    <th scope="col">Name</th><th scope="col">Provider</th><th scope="col">Status</th>
                    <th scope="col">Health</th><th scope="col">Last success</th><th scope="col">Last error</th>
                    <th scope="col">Rate limit</th>
                </tr></thead>
                <tbody>${data.data.map((c) => { const a = c.attributes || {}; return html`<tr key=${c.id} data-connection=${a.name}>
                    <th scope="row"><${Link} to=${vcsConnectionPath(c.id)}>${a.name}<//></th>
                    <td>${a.provider === 'gitlab' ? 'GitLab' : 'GitHub App'}${a['server-url'] ? html` <span class="muted">${a['server-url']}</span>` : ''}</td>
                    <td>${a.status === 'active' ? 'Active' : 'Disabled'}</td>
                    <td><${Health} attrs=${a} /></td>
                    <td>${when(a['last-success-at']) || '—'}</td>
                    <td>${a['last-error'] ? html`${a['last-error']} <span class="muted">(${when(a['last-error-at'])})</span>` : '—'}</td>
                    <td>${rateLimitText(a)}</td>
                </tr>`; })}</tbody>
            </table></div>`)}
    </section>`;
}
