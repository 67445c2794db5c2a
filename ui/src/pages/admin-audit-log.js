// @ts-check
// The audit log, newest first: filtered and paged by the server, the
// filters kept in the page's address so a filtered view can be shared.
import { useState } from 'preact/hooks';
import { html } from '../lib/html.js';
import { api } from '../lib/session.js';
import { withQuery } from '../lib/api.js';
import { useLoad } from '../lib/hooks.js';
import { AUDIT_FILTERS, auditQuery } from '../lib/audit.js';
import { inputValue } from '../lib/forms.js';
import { when } from '../lib/format.js';
import { navigate } from '../lib/nav.js';
import { ErrorNote, Loading, Pager } from '../components/common.js';

const LABELS = /** @type {Record<string, string>} */ ({
    actor: 'Actor', action: 'Method', status: 'Status', 'resource-type': 'Resource type',
    'resource-id': 'Resource id', since: 'Since', until: 'Until',
});

/** @param {{query: URLSearchParams}} props */
export function AuditLogPage({ query }) {
    const page = Number(query.get('page')) || 1;
    const key = query.toString();
    const { data, error } = useLoad(
        () => api.list('/api/terrapod/v1/admin/audit-log', page, 20, auditQuery(query)), [key]);
    const [form, setForm] = useState(Object.fromEntries(AUDIT_FILTERS.map((n) => [n, query.get(n) || ''])));

    /** @param {Record<string, string>} f @param {number} p */
    const go = (f, p) => navigate(withQuery('/app/admin/audit-log', { ...f, page: p > 1 ? p : '' }),
                                  { replace: true });
    return html`<section>
        <header class="page-head"><h1>Audit log</h1></header>
        <form class="filters" role="search" aria-label="Filter the audit log" onSubmit=${(/** @type {Event} */ e) => {
            e.preventDefault();
            go(form, 1);
        }}>
            ${AUDIT_FILTERS.map((n) => html`<label>${LABELS[n]} <input name=${n} value=${form[n]}
                type=${n === 'since' || n === 'until' ? 'datetime-local' : n === 'status' ? 'number' : 'text'}
                onInput=${(/** @type {Event} */ e) => setForm({ ...form, [n]: inputValue(e) })} /></label>`)}
            <button type="submit">Filter</button>
            <button type="button" onClick=${() => {
                const empty = Object.fromEntries(AUDIT_FILTERS.map((n) => [n, '']));
                setForm(empty);
                go(empty, 1);
            }}>Clear</button>
        </form>
        <${ErrorNote} error=${error} />
        ${!data && !error && html`<${Loading} />`}
        ${data && html`${data.data.length === 0 ? html`<p>No entries match.</p>`
            : html`<div class="table-wrap"><table class="list audit">
                <thead><tr>
                    <th scope="col">Time</th><th scope="col">Actor</th><th scope="col">Request</th>
                    <th scope="col">Status</th><th scope="col">Resource</th><th scope="col">Client</th>
                    <th scope="col">Duration</th>
                </tr></thead>
                <tbody>${data.data.map((e) => {
                    const a = e.attributes || {};
                    return html`<tr key=${e.id}>
                        <td>${when(a.timestamp)}</td>
                        <td>${a.actor}${a['token-id'] && html`<br /><span class="muted">${a['token-id']}</span>`}</td>
                        <td><code>${a.action} ${a.path}</code></td>
                        <td>${a.status}</td>
                        <td>${a['resource-type'] || ''} ${a['resource-id'] || ''}</td>
                        <td>${a['client-address']}</td>
                        <td>${a['duration-ms']} ms</td>
                    </tr>`;
                })}</tbody>
            </table></div>`}
            <${Pager} pagination=${data.pagination} noun="entries" go=${(/** @type {number} */ p) => go(
                Object.fromEntries(AUDIT_FILTERS.map((n) => [n, query.get(n) || ''])), p)} />`}
    </section>`;
}
