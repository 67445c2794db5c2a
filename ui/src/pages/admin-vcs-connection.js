// @ts-check
// One VCS connection (platform admins): its health, its settings (the
// credentials write-only), a test against the provider (optionally with a
// repository: its branches, tags and head archive), the webhook to set up
// on the provider, and deleting it.
import { useState } from 'preact/hooks';
import { html } from '../lib/html.js';
import { api } from '../lib/session.js';
import { withQuery } from '../lib/api.js';
import { useLoad } from '../lib/hooks.js';
import { useAction } from '../lib/action.js';
import { inputValue } from '../lib/forms.js';
import { when } from '../lib/format.js';
import { VCS_CONNECTIONS, rateLimitText, webhookUrl } from '../lib/vcs.js';
import { Link, ErrorNote, Loading } from '../components/common.js';
import { DeleteSection } from '../components/delete-section.js';
import { ConnectionForm, Health } from '../components/vcs-connection.js';

/** @typedef {import('../lib/api.js').Resource} Resource */

/** @param {{params: {id: string}}} props */
export function VcsConnectionPage({ params }) {
    const path = `${VCS_CONNECTIONS}/${encodeURIComponent(params.id)}`;
    const { data, error, reload } = useLoad(() => api.get(path), [path]);
    const c = data && data.data;

    if (error && !c) {
        return html`<h1>VCS connection</h1><${ErrorNote} error=${error} />`;
    }
    if (!c) {
        return html`<${Loading} />`;
    }
    const a = c.attributes || {};
    return html`<article>
        <header class="page-head">
            <p class="crumbs"><${Link} to="/app/admin/vcs-connections">VCS connections<//></p>
            <h1>${a.name}</h1>
        </header>
        <section aria-labelledby="health-h">
            <h2 id="health-h">Health</h2>
            <dl class="facts">
                <dt>Now</dt><dd><${Health} attrs=${a} /> ${a.status === 'disabled' ? ' (disabled)' : ''}</dd>
                <dt>Last success</dt><dd>${when(a['last-success-at']) || '—'}</dd>
                <dt>Last error</dt><dd data-testid="last-error">${a['last-error']
                    ? `${a['last-error']} (${when(a['last-error-at'])})` : '—'}</dd>
                <dt>Rate limit</dt><dd>${rateLimitText(a)}</dd>
            </dl>
        </section>
        <${TestConnection} path=${path} tested=${reload} />
        <${Webhook} conn=${c} />
        <section aria-labelledby="settings-h">
            <h2 id="settings-h">Settings</h2>
            <${ConnectionForm} current=${c}
                send=${(/** @type {Record<string, any>} */ attributes) => api.patch(path, {
                    data: { type: 'vcs-connections', attributes } })}
                done=${reload} />
        </section>
        <${DeleteSection} noun="connection" name=${a.name} path=${path} back="/app/admin/vcs-connections">
            Workspaces bound to this connection stay, unbound from their repository.<//>
    </article>`;
}

/** @param {{path: string, tested: () => void}} props */
function TestConnection({ path, tested }) {
    const [repo, setRepo] = useState('');
    const [answer, setAnswer] = useState(/** @type {any} */ (null));
    const act = useAction();

    const submit = async (/** @type {Event} */ e) => {
        e.preventDefault();
        setAnswer(null);
        // the test records the connection's health either way
        await act.run(async () => {
            setAnswer(await api.post(withQuery(`${path}/actions/test`, { 'repo-url': repo.trim() })));
        });
        tested();
    };
    const meta = (answer && answer.meta) || {};
    const r = meta.repository;
    return html`<section aria-labelledby="test-h">
        <h2 id="test-h">Test</h2>
        <form class="filters" onSubmit=${submit}>
            <label>Repository URL (optional) <input type="url" value=${repo} placeholder="https://github.com/OWNER/REPO"
                onInput=${(/** @type {Event} */ e) => setRepo(inputValue(e))} /></label>
            <button type="submit" disabled=${act.busy}>${act.busy ? 'Testing…' : 'Test'}</button>
        </form>
        <${ErrorNote} error=${act.error} />
        ${answer && html`<div class="notice" role="status">
            <p>The connection works${meta.account ? ` (as ${meta.account})` : ''}.</p>
            ${r && html`<p>Default branch <code>${r['default-branch']}</code> at <code>${String(r.head || '').slice(0, 7)}</code>;
                ${(r.branches || []).length} branches, ${(r.tags || []).length} tags;
                its archive holds ${r['archive-files']} files.</p>`}
        </div>`}
    </section>`;
}

/** @param {{conn: Resource}} props */
function Webhook({ conn }) {
    const a = conn.attributes || {};
    const url = webhookUrl(location.origin, conn);
    const gitlab = a.provider === 'gitlab';
    return html`<section aria-labelledby="webhook-h">
        <h2 id="webhook-h">Webhook</h2>
        <p>Runs follow the repositories by polling; a webhook makes them start at once.
            ${gitlab ? ' In the GitLab project (or group), under Settings → Webhooks, add:'
                : " In the GitHub App's settings, under Webhook, set:"}</p>
        <dl class="facts">
            <dt>URL</dt><dd><input class="secret-value" type="text" readonly value=${url} aria-label="Webhook URL"
                onFocus=${(/** @type {any} */ e) => e.currentTarget.select()} /></dd>
            <dt>${gitlab ? 'Secret token' : 'Secret'}</dt><dd data-testid="webhook-secret">${a['has-webhook-secret']
                ? "This connection's webhook secret (set below; never shown)"
                : 'None set for this connection: set one below, or the server-wide secret applies'}</dd>
            <dt>Events</dt><dd>${gitlab ? 'Push events, Tag push events, Merge request events'
                : 'Push, Pull request (content type application/json)'}</dd>
        </dl>
    </section>`;
}
