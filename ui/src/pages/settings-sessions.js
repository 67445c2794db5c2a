// @ts-check
// Sessions: not written yet.
import { html } from '../lib/html.js';
import { Placeholder } from '../components/common.js';

export function SessionsPage() {
    return html`<${Placeholder} title="Sessions" />`;
}
