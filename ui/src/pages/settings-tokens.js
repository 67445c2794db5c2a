// @ts-check
// The signed-in person's API tokens: create one (its secret is shown
// once), rotate, revoke; and a warning for service tokens about to expire.
import { html } from '../lib/html.js';
import { api } from '../lib/session.js';
import { useLoad } from '../lib/hooks.js';
import { isAdmin } from '../lib/account.js';
import { navigate } from '../lib/nav.js';
import { ErrorNote, Loading, Pager } from '../components/common.js';
import { TokenTable, NewToken, ExpiringTokens } from '../components/tokens.js';

/** @param {{query: URLSearchParams, account: any}} props */
export function MyTokensPage({ query, account }) {
    const page = Number(query.get('page')) || 1;
    const userId = account ? account.id : '';
    const { data, error, reload } = useLoad(() => (userId
        ? api.list(`/api/terrapod/v1/users/${encodeURIComponent(userId)}/authentication-tokens`, page, 20)
        : Promise.resolve(null)), [userId, page]);

    return html`<section>
        <header class="page-head"><h1>My tokens</h1></header>
        <p class="muted">API tokens for the terraform CLI and automation (<code>Authorization: Bearer</code>).</p>
        <${ExpiringTokens} />
        ${userId && html`<${NewToken} userId=${userId} admin=${isAdmin(account)} created=${reload} />`}
        <${ErrorNote} error=${error} />
        ${!data && !error && html`<${Loading} />`}
        ${data && html`<${TokenTable} tokens=${data.data} changed=${reload} />
            <${Pager} pagination=${data.pagination} noun="tokens"
                go=${(/** @type {number} */ p) => navigate(`/app/settings/tokens?page=${p}`, { replace: true })} />`}
    </section>`;
}
