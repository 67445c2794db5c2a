// @ts-check
// Autodiscovery rules (platform admins): each rule makes a workspace of
// every directory of a repository that matches its pattern. The list, and
// a form to create one, with a preview of what it would create.
import { html } from '../lib/html.js';
import { api } from '../lib/session.js';
import { useLoad } from '../lib/hooks.js';
import { navigate } from '../lib/nav.js';
import { isAdmin } from '../lib/account.js';
import { rulePath } from '../lib/paths.js';
import { AUTODISCOVERY_RULES } from '../lib/vcs.js';
import { Link, ErrorNote, Loading } from '../components/common.js';
import { RuleForm, usePreview, previewUnsaved } from '../components/autodiscovery.js';

/** @param {{account: any}} props */
export function AutodiscoveryRulesPage({ account }) {
    const { data, error } = useLoad(() => api.list(AUTODISCOVERY_RULES, 1, 100), []);
    const preview = usePreview();

    return html`<section>
        <header class="page-head"><h1>Autodiscovery rules</h1></header>
        <p class="muted">A rule makes a workspace of every directory of a repository that matches its pattern,
            as pushes and pull requests bring them.</p>
        ${isAdmin(account) && html`<details class="panel">
            <summary>New rule</summary>
            <${RuleForm}
                send=${async (/** @type {Record<string, any>} */ attributes) => {
                    const doc = await api.post(AUTODISCOVERY_RULES, { data: { type: 'autodiscovery-rules', attributes } });
                    navigate(rulePath(doc.data.id));
                }}
                preview=${(/** @type {Record<string, any>} */ attributes) => preview.show(() => previewUnsaved(attributes))} />
            ${preview.view}
        </details>`}
        <${ErrorNote} error=${error} />
        ${!data && !error && html`<${Loading} />`}
        ${data && (data.data.length === 0 ? html`<p>No rules yet.</p>`
            : html`<div class="table-wrap"><table class="list">
                <thead><tr>
                    <th scope="col">Name</th><th scope="col">Repository</th><th scope="col">Branch</th>
                    <th scope="col">Pattern</th><th scope="col">Enabled</th>
                </tr></thead>
                <tbody>${data.data.map((r) => { const a = r.attributes || {}; return html`<tr key=${r.id} data-rule=${a.name}>
                    <th scope="row"><${Link} to=${rulePath(r.id)}>${a.name}<//></th>
                    <td>${a['repo-url']}</td>
                    <td>${a.branch || html`<span class="muted">default</span>`}</td>
                    <td><code>${a.pattern}</code></td>
                    <td>${a.enabled ? 'Yes' : 'No'}</td>
                </tr>`; })}</tbody>
            </table></div>`)}
    </section>`;
}
