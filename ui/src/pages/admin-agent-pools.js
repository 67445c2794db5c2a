// @ts-check
// Agent pools: not written yet.
import { html } from '../lib/html.js';
import { Placeholder } from '../components/common.js';

export function AgentPoolsPage() {
    return html`<${Placeholder} title="Agent pools" />`;
}
