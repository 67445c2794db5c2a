// @ts-check
// My tokens: not written yet.
import { html } from '../lib/html.js';
import { Placeholder } from '../components/common.js';

export function MyTokensPage() {
    return html`<${Placeholder} title="My tokens" />`;
}
