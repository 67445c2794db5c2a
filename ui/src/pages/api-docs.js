// @ts-check
// The API: what this server's OpenAPI document says about itself, and the
// way to its interactive reference (Swagger UI, a page of its own:
// api-docs.html). Without a document, a plain message says so.
import { html } from '../lib/html.js';
import { api } from '../lib/session.js';
import { useLoad } from '../lib/hooks.js';
import { href } from '../lib/nav.js';
import { OPENAPI } from '../api-docs/openapi.js';
import { ErrorNote, Loading } from '../components/common.js';

export function ApiDocsPage() {
    const { data, error } = useLoad(() => api.get(OPENAPI), []);
    const info = (data && /** @type {any} */ (data).info) || {};
    const paths = data ? Object.keys(/** @type {any} */ (data).paths || {}).length : 0;

    return html`<section>
        <header class="page-head"><h1>API</h1></header>
        <p>Terrapod serves the Terraform Enterprise V2 API under <code>/api/v2/</code> and its own
            management API under <code>/api/terrapod/v1/</code>, both JSON:API.</p>
        ${!data && !error && html`<${Loading} />`}
        ${error && (error.status === 404
            ? html`<p class="notice" role="status">This server does not publish an API description:
                <code>${OPENAPI}</code> answered 404.</p>`
            : html`<${ErrorNote} error=${error} />`)}
        ${data && html`<p>${info.title} ${info.version && html`<span class="muted">version ${info.version}</span>`}:
                ${paths} paths.</p>
            <ul>
                <li><a href=${href('api-docs.html')} target="_self">Open the interactive reference (Swagger UI)</a>:
                    "Try it out" calls the API as you, with this session.</li>
                <li><a href=${OPENAPI} target="_self">The OpenAPI document (JSON)</a></li>
            </ul>`}
    </section>`;
}
