// @ts-check
// What the version control pages compute from the API's answers: the
// attributes a connection form sends (credentials only when typed), a
// connection's health and webhook address, a run's commit and pull
// request, the refs a workspace can run from, a rule's preview rows, and
// a workspace's lifecycle.
import { related } from './api.js';
import { when } from './format.js';
import { parseLabels, labelsText } from './forms.js';
import { fromField, changedAttributes } from './workspace-forms.js';

/** @typedef {import('./api.js').Resource} Resource */

export const VCS_CONNECTIONS = '/api/terrapod/v1/vcs-connections';
export const AUTODISCOVERY_RULES = '/api/terrapod/v1/autodiscovery-rules';

/**
 * @typedef {object} ConnectionForm
 * @property {string} name
 * @property {string} provider github or gitlab
 * @property {string} serverUrl
 * @property {string} status active or disabled
 * @property {string} appId
 * @property {string} installationId
 * @property {string} accountLogin
 * @property {string} accountType Organization or User
 * @property {string} secret the private key (GitHub) or token (GitLab); '' keeps the stored one
 * @property {string} webhookSecret '' keeps the stored one
 */

/**
 * The form for a connection: empty for a new one. Credentials are never
 * read back, so their fields start empty.
 * @param {Record<string, any>} [a] the connection's attributes
 * @returns {ConnectionForm}
 */
export function connectionForm(a = {}) {
    const text = (/** @type {any} */ v) => (v === null || v === undefined ? '' : String(v));
    return {
        name: text(a.name),
        provider: a.provider || 'github',
        serverUrl: text(a['server-url']),
        status: a.status || 'active',
        appId: text(a['github-app-id']),
        installationId: text(a['github-installation-id']),
        accountLogin: text(a['github-account-login']),
        accountType: a['github-account-type'] || 'Organization',
        secret: '',
        webhookSecret: '',
    };
}

/**
 * The attributes to send for a connection form: the provider only when
 * creating (it cannot change), the GitHub App's fields only for GitHub,
 * and each credential only when something was typed (empty keeps the
 * stored one). An id that is no whole number goes as typed, for the
 * server to refuse with its reason.
 * @param {ConnectionForm} f
 * @param {boolean} creating
 * @returns {Record<string, any>}
 */
export function connectionAttributes(f, creating) {
    const github = f.provider === 'github';
    const id = (/** @type {string} */ s) => (/^\s*\d+\s*$/.test(s) ? Number(s) : s.trim());
    /** @type {Record<string, any>} */
    const a = { name: f.name.trim(), 'server-url': f.serverUrl.trim(), status: f.status };
    if (creating) {
        a.provider = f.provider;
    }
    if (github) {
        a['github-app-id'] = id(f.appId);
        a['github-installation-id'] = id(f.installationId);
        a['github-account-login'] = f.accountLogin.trim();
        a['github-account-type'] = f.accountType;
    }
    if (f.secret.trim() !== '') {
        a[github ? 'private-key' : 'token'] = github ? f.secret : f.secret.trim();
    }
    if (f.webhookSecret !== '') {
        a['webhook-secret'] = f.webhookSecret;
    }
    return a;
}

/**
 * A connection's health: 'failing' when its last error is newer than its
 * last success, 'ok' after a success, 'unknown' before either.
 * @param {Record<string, any>} a
 * @returns {'ok' | 'failing' | 'unknown'}
 */
export function healthOf(a) {
    const ok = a['last-success-at'] ? Date.parse(a['last-success-at']) : NaN;
    const bad = a['last-error-at'] ? Date.parse(a['last-error-at']) : NaN;
    if (!Number.isNaN(bad) && (Number.isNaN(ok) || bad >= ok)) {
        return 'failing';
    }
    return Number.isNaN(ok) ? 'unknown' : 'ok';
}

/**
 * The rate limit the provider reported last, in words.
 * @param {Record<string, any>} a
 * @returns {string}
 */
export function rateLimitText(a) {
    if (a['rate-limit-remaining'] === null || a['rate-limit-remaining'] === undefined) {
        return '—';
    }
    const reset = a['rate-limit-reset-at'] ? `, resets ${when(a['rate-limit-reset-at'])}` : '';
    return `${a['rate-limit-remaining']} requests left${reset}`;
}

/**
 * The address to configure as the webhook of a connection on its provider.
 * @param {string} origin the instance's origin, "https://host:port"
 * @param {{id: string, attributes?: Record<string, any>}} conn
 * @returns {string}
 */
export function webhookUrl(origin, conn) {
    const provider = conn.attributes && conn.attributes.provider === 'gitlab' ? 'gitlab' : 'github';
    return `${origin}/api/terrapod/v1/vcs-events/${provider}?connection=${encodeURIComponent(conn.id)}`;
}

/**
 * @typedef {Record<string, any>} Ingress the ingress attributes of a
 * configuration version: commit-sha, commit-url, branch, tag,
 * commit-message, sender-username, pull-request-number, ...
 */

/**
 * The ingress attributes of a run, from a document read with
 * include=configuration_version.ingress_attributes; null for a run whose
 * configuration did not come from a repository.
 * @param {Map<string, Resource>} index included documents (includedIndex)
 * @param {Resource} run
 * @returns {Ingress | null}
 */
export function ingressOf(index, run) {
    const cv = related(index, run, 'configuration-version');
    if (!cv) {
        return null;
    }
    const ing = related(index, cv, 'ingress-attributes');
    return ing && ing.attributes && ing.attributes['commit-sha'] ? ing.attributes : null;
}

/**
 * The ingress attributes as their own endpoint answers them; null for
 * none (a configuration that was uploaded: 404, or no commit).
 * @param {import('./api.js').Document | null} doc
 * @returns {Ingress | null}
 */
export function ingressFromDoc(doc) {
    const a = doc && doc.data && doc.data.attributes;
    return a && a['commit-sha'] ? a : null;
}

/**
 * Whether a run's configuration came from a pull or merge request.
 * @param {Ingress | null} ing
 * @returns {boolean}
 */
export function isPullRequest(ing) {
    return !!ing && (ing['is-pull-request'] === true || Number(ing['pull-request-number']) > 0);
}

/**
 * A commit's short name, as providers show it.
 * @param {string} sha
 * @returns {string}
 */
export function shortSha(sha) {
    return (sha || '').slice(0, 7);
}

/**
 * A commit message's first line.
 * @param {string} message
 * @returns {string}
 */
export function firstLine(message) {
    return (message || '').split('\n')[0].trim();
}

/**
 * The refs a workspace can run from, as vcs-refs answers them.
 * @param {any} body {branches: [{name, sha}], tags: [...], "default-branch"}
 * @returns {{defaultBranch: string, branches: string[], tags: string[]}}
 */
export function refsOf(body) {
    const names = (/** @type {any} */ list) => (Array.isArray(list) ? list.map((r) => String(r.name)) : []);
    const b = body || {};
    return { defaultBranch: String(b['default-branch'] || ''), branches: names(b.branches), tags: names(b.tags) };
}

/**
 * @typedef {{workspaceName: string, workingDirectory: string, collision: boolean,
 *   existing: boolean}} PreviewRow
 */

/**
 * The rows of a rule's preview: the workspaces it would create, as a
 * list of entries under data (or a bare list), each flat or with its
 * fields under attributes.
 * @param {any} body
 * @returns {PreviewRow[]}
 */
export function previewRows(body) {
    const list = Array.isArray(body) ? body : body && Array.isArray(body.data) ? body.data : [];
    return list.map((/** @type {any} */ e) => {
        const x = e && e.attributes ? e.attributes : e || {};
        const get = (/** @type {string} */ k) => x[k] ?? x[k.replace(/_/g, '-')];
        return {
            workspaceName: String(get('workspace_name') || ''),
            workingDirectory: String(get('working_directory') || ''),
            collision: get('collision') === true,
            existing: get('existing_autodiscovered') === true,
        };
    });
}

/**
 * What a workspace's lifecycle state says to people; null while it is
 * active.
 * @param {Record<string, any>} a workspace attributes
 * @returns {{state: string, label: string, reason: string} | null}
 */
export function lifecycleOf(a) {
    const state = a['lifecycle-state'];
    if (!state || state === 'active') {
        return null;
    }
    const label = state === 'pending_deletion' ? 'Pending deletion'
        : state === 'archived' ? 'Archived' : state.replace(/_/g, ' ');
    return { state, label, reason: String(a['lifecycle-reason'] || '') };
}

/**
 * The attributes to send for an autodiscovery rule's form: on create,
 * every field that holds something (the server's defaults apply to the
 * rest); on change, only what differs from the rule. Labels are typed as
 * "key=value, key=value".
 * @param {Record<string, import('./workspace-forms.js').FieldKind>} kinds
 * @param {Record<string, any>} form field values by attribute name, labels as text
 * @param {Record<string, any>} [existing] the rule's attributes when changing it
 * @returns {Record<string, any>}
 */
export function ruleAttributes(kinds, form, existing) {
    const labels = parseLabels(String(form.labels || ''));
    if (existing) {
        const out = changedAttributes(kinds, existing, form);
        if (labelsText(labels) !== labelsText(existing.labels)) {
            out.labels = labels;
        }
        return out;
    }
    /** @type {Record<string, any>} */
    const out = {};
    for (const [name, kind] of Object.entries(kinds)) {
        const v = fromField(kind, form[name]);
        if (v !== '' && v !== null && !(Array.isArray(v) && v.length === 0)) {
            out[name] = v;
        }
    }
    if (Object.keys(labels).length > 0) {
        out.labels = labels;
    }
    return out;
}
