// @ts-check
// A workspace's overview tab: how it runs, who holds its lock, and the
// lock controls its reader may use.
import { html } from '../lib/html.js';
import { WorkspaceShell } from '../components/workspace-shell.js';

/** @param {{params: {name: string}}} props */
export function WorkspaceOverviewPage({ params }) {
    return html`<${WorkspaceShell} name=${params.name} tab="">
        ${() => html`<p class="muted">The overview is not written yet.</p>`}
    <//>`;
}
