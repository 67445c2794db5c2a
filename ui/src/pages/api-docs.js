// @ts-check
// API: not written yet.
import { html } from '../lib/html.js';
import { Placeholder } from '../components/common.js';

export function ApiDocsPage() {
    return html`<${Placeholder} title="API" />`;
}
