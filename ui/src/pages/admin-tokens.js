// @ts-check
// Every API token, by kind, page by page, for platform admins (the API
// lists them to admins only): revoke or rotate any, and see the service
// tokens about to expire.
import { html } from '../lib/html.js';
import { api } from '../lib/session.js';
import { withQuery } from '../lib/api.js';
import { useLoad } from '../lib/hooks.js';
import { inputValue } from '../lib/forms.js';
import { navigate } from '../lib/nav.js';
import { ErrorNote, Loading, Pager } from '../components/common.js';
import { TokenTable, ExpiringTokens } from '../components/tokens.js';

const KINDS = ['interactive', 'service_bound', 'service_detached'];

/** @param {{query: URLSearchParams}} props */
export function AdminTokensPage({ query }) {
    const kind = query.get('kind') || '';
    const page = Number(query.get('page')) || 1;
    const { data, error, reload } = useLoad(
        () => api.list('/api/terrapod/v1/admin/authentication-tokens', page, 20, { 'filter[kind]': kind }),
        [kind, page]);

    /** @param {string} k @param {number} p */
    const go = (k, p) => navigate(withQuery('/app/admin/tokens', { kind: k, page: p > 1 ? p : '' }),
                                  { replace: true });
    return html`<section>
        <header class="page-head"><h1>All tokens</h1></header>
        <${ExpiringTokens} />
        <form class="filters" role="search" onSubmit=${(/** @type {Event} */ e) => e.preventDefault()}>
            <label>Kind <select value=${kind} onChange=${(/** @type {Event} */ e) => go(inputValue(e), 1)}>
                <option value="">all kinds</option>
                ${KINDS.map((k) => html`<option value=${k}>${k}</option>`)}
            </select></label>
        </form>
        <${ErrorNote} error=${error} />
        ${!data && !error && html`<${Loading} />`}
        ${data && html`<${TokenTable} tokens=${data.data} owner changed=${reload} />
            <${Pager} pagination=${data.pagination} noun="tokens" go=${(/** @type {number} */ p) => go(kind, p)} />`}
    </section>`;
}
