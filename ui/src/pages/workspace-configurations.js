// @ts-check
// A workspace's configurations tab: not written yet.
import { html } from '../lib/html.js';
import { WorkspaceShell } from '../components/workspace-shell.js';

/** @param {{params: {name: string}}} props */
export function WorkspaceConfigurationsPage({ params }) {
    return html`<${WorkspaceShell} name=${params.name} tab="configurations">
        ${() => html`<p class="muted">This tab is not written yet.</p>`}
    <//>`;
}
