// @ts-check
// Variable sets: not written yet.
import { html } from '../lib/html.js';
import { Placeholder } from '../components/common.js';

export function VariableSetsPage() {
    return html`<${Placeholder} title="Variable sets" />`;
}
