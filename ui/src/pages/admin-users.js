// @ts-check
// Users: not written yet.
import { html } from '../lib/html.js';
import { Placeholder } from '../components/common.js';

export function UsersPage() {
    return html`<${Placeholder} title="Users" />`;
}
