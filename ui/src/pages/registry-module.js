// @ts-check
// One registry module: how to use it, its versions (each with its inputs,
// outputs and README as read at publishing), the workspaces linked to it
// (which get a plan-only run when a version is published), and, as the
// module's permissions allow, deleting versions, linking and deleting.
import { useState } from 'preact/hooks';
import { html } from '../lib/html.js';
import { api } from '../lib/session.js';
import { useLoad } from '../lib/hooks.js';
import { useAction, confirmed } from '../lib/action.js';
import { can } from '../lib/perms.js';
import { inputValue } from '../lib/forms.js';
import { labelList, when, bytes } from '../lib/format.js';
import { navigate } from '../lib/nav.js';
import { workspacePath, ORG } from '../lib/paths.js';
import { Link, ErrorNote, Loading } from '../components/common.js';
import { MODULES } from './registry-modules.js';

/** @param {{params: {name: string, provider: string}}} props */
export function RegistryModulePage({ params }) {
    const base = `${MODULES}/private/default/${encodeURIComponent(params.name)}/${encodeURIComponent(params.provider)}`;
    const mod = useLoad(() => api.get(base), [base]);
    const versions = useLoad(() => api.list(`${base}/versions`, 1, 100), [base]);
    const [chosen, setChosen] = useState(/** @type {string|null} */ (null));
    const act = useAction();
    const m = mod.data && mod.data.data;

    if (mod.error && !m) {
        return html`<h1>Module</h1><${ErrorNote} error=${mod.error} />`;
    }
    if (!m) {
        return html`<${Loading} />`;
    }
    const a = m.attributes || {};
    const list = (versions.data && versions.data.data) || [];
    const shown = list.find((v) => (v.attributes || {}).version === chosen) || list[0];
    const remove = async () => {
        if (confirmed(`Delete the module ${a.name}/${a.provider} and all its versions?`)
            && await act.run(() => api.del(base))) {
            navigate(`/app/${ORG}/registry/modules`);
        }
    };
    const removeVersion = async (/** @type {string} */ version) => {
        if (confirmed(`Delete version ${version} of ${a.name}/${a.provider}?`)
            && await act.run(() => api.del(`${base}/versions/${encodeURIComponent(version)}`))) {
            setChosen(null);
            versions.reload();
        }
    };
    return html`<article>
        <header class="page-head">
            <p class="crumbs"><${Link} to=${`/app/${ORG}/registry/modules`}>Modules<//></p>
            <h1>${a.name}/${a.provider}</h1>
        </header>
        ${a.description && html`<p>${a.description}</p>`}
        ${a['vcs-repo'] && html`<p>Publishes the tags matching <code>${a['vcs-repo']['tag-pattern']}</code>
            of <a href=${a['vcs-repo']['repo-url']}>${a['vcs-repo']['repo-url']}</a>${a['vcs-repo'].error
                && html` <span class="badge badge-bad">${a['vcs-repo'].error}</span>`}</p>`}
        <p>${labelList(a.labels).map((l) => html`<span class="label">${l}</span> `)}</p>
        <h2>Usage</h2>
        <pre class="code" aria-label="Usage">${usage(a, shown && (shown.attributes || {}).version)}</pre>
        <${ErrorNote} error=${act.error || versions.error} />
        <section aria-labelledby="versions-h">
            <h2 id="versions-h">Versions</h2>
            ${list.length === 0 ? html`<p>No version published yet.
                ${a['vcs-repo'] ? 'Versions come from the tags of its repository.'
                    : html`Publish one with <code>PUT ${base}/versions/VERSION/upload</code> (a gzip tarball).`}</p>`
            : html`<div class="table-wrap"><table class="list">
                <thead><tr><th scope="col">Version</th><th scope="col">Published</th>
                    <th scope="col">By</th><th scope="col">Size</th>
                    <th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
                <tbody>${list.map((v) => { const va = v.attributes || {}; return html`<tr key=${v.id}
                        aria-current=${v === shown ? 'true' : undefined}>
                    <th scope="row">${va.version}${va['vcs-moved-to-sha'] && html` <span class="badge badge-bad"
                        title=${`the tag now points at ${va['vcs-moved-to-sha']}`}>tag moved</span>`}</th>
                    <td>${when(va['created-at'])}</td><td>${va['created-by']}</td><td>${bytes(va.size)}</td>
                    <td class="actions">
                        <button type="button" disabled=${v === shown}
                            onClick=${() => setChosen(va.version)}>Show ${va.version}</button>
                        ${can(m, 'can-destroy') && html` <button class="danger" type="button"
                            disabled=${act.busy} aria-label=${`Delete ${va.version}`}
                            onClick=${() => removeVersion(va.version)}>Delete</button>`}
                    </td>
                </tr>`; })}</tbody>
            </table></div>`}
        </section>
        ${shown && html`<${VersionDetail} version=${shown} />`}
        <${Links} base=${base} module=${m} />
        ${can(m, 'can-destroy') && html`<h2>Delete</h2>
            <p><button class="danger" type="button" disabled=${act.busy} onClick=${remove}>Delete module</button></p>`}
    </article>`;
}

/**
 * The module block that uses this module.
 * @param {any} a the module's attributes
 * @param {string} [version]
 */
function usage(a, version) {
    const constraint = version ? `\n  version = "${version}"` : '';
    return `module "${a.name}" {\n  source  = "${location.host}/${a.namespace}/${a.name}/${a.provider}"${constraint}\n}`;
}

/** @param {{version: import('../lib/api.js').Resource}} props */
function VersionDetail({ version }) {
    const va = version.attributes || {};
    const inputs = va.inputs || [];
    const outputs = va.outputs || [];
    return html`<section aria-labelledby="version-h">
        <h2 id="version-h">Version ${va.version}</h2>
        <h3>Inputs</h3>
        ${inputs.length === 0 ? html`<p>No inputs.</p>` : html`<div class="table-wrap"><table class="list">
            <thead><tr><th scope="col">Name</th><th scope="col">Type</th><th scope="col">Description</th>
                <th scope="col">Required</th></tr></thead>
            <tbody>${inputs.map((/** @type {any} */ i) => html`<tr key=${i.name}>
                <th scope="row"><code>${i.name}</code>${i.sensitive && html` <span class="badge">sensitive</span>`}</th>
                <td><code>${i.type}</code></td><td>${i.description}</td>
                <td>${i.required ? 'yes' : 'no'}</td>
            </tr>`)}</tbody></table></div>`}
        <h3>Outputs</h3>
        ${outputs.length === 0 ? html`<p>No outputs.</p>` : html`<div class="table-wrap"><table class="list">
            <thead><tr><th scope="col">Name</th><th scope="col">Description</th></tr></thead>
            <tbody>${outputs.map((/** @type {any} */ o) => html`<tr key=${o.name}>
                <th scope="row"><code>${o.name}</code>${o.sensitive && html` <span class="badge">sensitive</span>`}</th>
                <td>${o.description}</td>
            </tr>`)}</tbody></table></div>`}
        <h3>README</h3>
        ${va.readme ? html`<pre class="readme">${va.readme}</pre>` : html`<p>No README.</p>`}
    </section>`;
}

/** @param {{base: string, module: import('../lib/api.js').Resource}} props */
function Links({ base, module }) {
    const path = `${base}/workspace-links`;
    const { data, error, reload } = useLoad(() => api.get(path), [path]);
    const admin = can(module, 'can-update');
    const act = useAction();
    const unlink = async (/** @type {import('../lib/api.js').Resource} */ l) => {
        if (confirmed(`Unlink the workspace ${(l.attributes || {})['workspace-name']}?`)) {
            await act.run(() => api.del(`${path}/${encodeURIComponent(l.id)}`));
            reload();
        }
    };
    const links = (data && data.data) || [];
    return html`<section aria-labelledby="links-h">
        <h2 id="links-h">Linked workspaces</h2>
        <p class="muted">Each gets a plan-only run when a version is published.</p>
        <${ErrorNote} error=${error || act.error} />
        ${!data && !error && html`<${Loading} />`}
        ${data && (links.length === 0 ? html`<p>No workspace is linked.</p>`
            : html`<ul>${links.map((l) => { const name = (l.attributes || {})['workspace-name']; return html`<li key=${l.id}>
                <${Link} to=${workspacePath(name)}>${name}<//>
                ${admin && html` <button class="danger" type="button" disabled=${act.busy}
                    aria-label=${`Unlink ${name}`} onClick=${() => unlink(l)}>Unlink</button>`}
            </li>`; })}</ul>`)}
        ${admin && html`<${LinkForm} path=${path} linked=${reload} />`}
    </section>`;
}

/** @param {{path: string, linked: () => void}} props */
function LinkForm({ path, linked }) {
    const ws = useLoad(() => api.list(`/api/v2/organizations/${ORG}/workspaces`, 1, 100), []);
    const [id, setId] = useState('');
    const act = useAction();
    const submit = async (/** @type {Event} */ e) => {
        e.preventDefault();
        if (await act.run(() => api.post(path, { data: { type: 'module-workspace-links',
                                                         attributes: { 'workspace-id': id } } }))) {
            setId('');
            linked();
        }
    };
    return html`<form class="inline" onSubmit=${submit}>
        <label>Workspace <select required value=${id}
                onChange=${(/** @type {Event} */ e) => setId(inputValue(e))}>
            <option value="">Choose…</option>
            ${((ws.data && ws.data.data) || []).map((w) => html`<option key=${w.id} value=${w.id}>${(w.attributes || {}).name}</option>`)}
        </select></label>
        <button type="submit" disabled=${act.busy}>Link</button>
        <${ErrorNote} error=${act.error || ws.error} />
    </form>`;
}
