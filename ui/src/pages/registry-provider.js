// @ts-check
// One registry provider: how a configuration requires it, its versions
// with their signing key and platforms (file, SHA-256, h1: hash), and the
// controls its permissions allow: deleting a version, deleting it.
import { html } from '../lib/html.js';
import { api } from '../lib/session.js';
import { useLoad } from '../lib/hooks.js';
import { useAction } from '../lib/action.js';
import { can } from '../lib/perms.js';
import { labelList, when, bytes } from '../lib/format.js';
import { PROVIDERS } from '../lib/paths.js';
import { Link, ErrorNote, Loading } from '../components/common.js';
import { ConfirmButton } from '../components/confirm.js';
import { DeleteSection } from '../components/delete-section.js';
import { PROVIDERS_API } from './registry-providers.js';

/** @param {{params: {name: string}}} props */
export function ProviderPage({ params }) {
    const path = `${PROVIDERS_API}/private/default/${encodeURIComponent(params.name)}`;
    const prov = useLoad(() => api.get(path), [path]);
    const versions = useLoad(() => api.list(`${path}/versions`, 1, 100), [path]);
    const p = prov.data && prov.data.data;

    if (prov.error && !p) {
        return html`<h1>Provider</h1><${ErrorNote} error=${prov.error} />`;
    }
    if (!p) {
        return html`<${Loading} />`;
    }
    const a = p.attributes;
    return html`<article>
        <header class="page-head">
            <p class="crumbs"><${Link} to=${PROVIDERS}>Providers<//></p>
            <h1>${a.name}</h1>
        </header>
        ${a.description && html`<p>${a.description}</p>`}
        <p>${labelList(a.labels).map((l) => html`<span class="label">${l}</span> `)}</p>
        <section aria-labelledby="usage-h">
            <h2 id="usage-h">Usage</h2>
            <pre><code>${usage(a.name)}</code></pre>
        </section>
        <section aria-labelledby="versions-h">
            <h2 id="versions-h">Versions</h2>
            <${ErrorNote} error=${versions.error} />
            ${!versions.data && !versions.error && html`<${Loading} />`}
            ${versions.data && (versions.data.data.length === 0
                ? html`<p>No version published yet: see docs/registry.md, "Publishing a version".</p>`
                : versions.data.data.map((v) => html`<${Version} key=${v.id} version=${v} path=${path}
                    canDelete=${can(p, 'can-create-version')} deleted=${versions.reload} />`))}
        </section>
        ${can(p, 'can-destroy') && html`<${DeleteSection} noun="provider" name=${a.name} path=${path}
            back=${PROVIDERS}>Every version and its files go with it; configurations that require it
            no longer install.<//>`}
    </article>`;
}

/** @param {string} name */
function usage(name) {
    return `terraform {
  required_providers {
    ${name} = {
      source = "${location.host}/default/${name}"
    }
  }
}`;
}

/**
 * @param {{version: any, path: string, canDelete: boolean, deleted: () => void}} props
 */
function Version({ version, path, canDelete, deleted }) {
    const v = version.attributes;
    const act = useAction();
    const heading = `version-${version.id}`;
    return html`<section aria-labelledby=${heading} class="panel">
        <h3 id=${heading}>${v.version}</h3>
        <p>${v['shasums-sig-uploaded']
            ? html`Signed by GPG key <code>${v['key-id']}</code>`
            : 'SHA256SUMS not signed yet: no platform can be published'}, ${when(v['created-at'])}</p>
        ${v.platforms.length > 0 && html`<div class="table-wrap"><table class="list">
            <caption>Platforms of ${v.version}</caption>
            <thead><tr><th scope="col">Platform</th><th scope="col">File</th><th scope="col">Size</th>
                <th scope="col">SHA-256</th><th scope="col">h1:</th></tr></thead>
            <tbody>${v.platforms.map((/** @type {any} */ pl) => html`<tr key=${pl.os + pl.arch}>
                <th scope="row">${pl.os}_${pl.arch}</th><td>${pl.filename}</td><td>${bytes(pl.size)}</td>
                <td><code>${pl.shasum}</code></td><td><code>${pl.h1}</code></td>
            </tr>`)}</tbody>
        </table></div>`}
        <${ErrorNote} error=${act.error} />
        ${canDelete && html`<${ConfirmButton} label=${`Delete version ${v.version}`} danger=${true}
            disabled=${act.busy} question=${`Delete version ${v.version} and its files?`} yes="Delete it"
            onConfirm=${async () => {
                if (await act.run(() => api.del(`${path}/versions/${encodeURIComponent(v.version)}`))) {
                    deleted();
                }
            }} />`}
    </section>`;
}
