// @ts-check
import { html } from '../lib/html.js';
import { Link } from '../components/common.js';
import { HOME } from '../lib/paths.js';

export function NotFoundPage() {
    return html`<section>
        <h1>Nothing here</h1>
        <p>This address is not a page of Terrapod. <${Link} to=${HOME}>Go to the workspaces<//>.</p>
    </section>`;
}
