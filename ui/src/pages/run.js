// @ts-check
// A run: its status, logs, planned changes and actions.
import { html } from '../lib/html.js';
import { WorkspaceShell } from '../components/workspace-shell.js';

/** @param {{params: {name: string, run: string}}} props */
export function RunPage({ params }) {
    return html`<${WorkspaceShell} name=${params.name} tab="runs">
        ${() => html`<h2>Run ${params.run}</h2><p class="muted">Not written yet.</p>`}
    <//>`;
}
