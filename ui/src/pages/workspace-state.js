// @ts-check
// A workspace's state tab: not written yet.
import { html } from '../lib/html.js';
import { WorkspaceShell } from '../components/workspace-shell.js';

/** @param {{params: {name: string}}} props */
export function WorkspaceStatePage({ params }) {
    return html`<${WorkspaceShell} name=${params.name} tab="state">
        ${() => html`<p class="muted">This tab is not written yet.</p>`}
    <//>`;
}
