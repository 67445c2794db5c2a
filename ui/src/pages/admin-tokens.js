// @ts-check
// All tokens: not written yet.
import { html } from '../lib/html.js';
import { Placeholder } from '../components/common.js';

export function AdminTokensPage() {
    return html`<${Placeholder} title="All tokens" />`;
}
