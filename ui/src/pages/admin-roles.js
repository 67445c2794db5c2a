// @ts-check
// Roles: not written yet.
import { html } from '../lib/html.js';
import { Placeholder } from '../components/common.js';

export function RolesPage() {
    return html`<${Placeholder} title="Roles" />`;
}
