// @ts-check
// A workspace's variables tab: not written yet.
import { html } from '../lib/html.js';
import { WorkspaceShell } from '../components/workspace-shell.js';

/** @param {{params: {name: string}}} props */
export function WorkspaceVariablesPage({ params }) {
    return html`<${WorkspaceShell} name=${params.name} tab="variables">
        ${() => html`<p class="muted">This tab is not written yet.</p>`}
    <//>`;
}
