// @ts-check
// Audit log: not written yet.
import { html } from '../lib/html.js';
import { Placeholder } from '../components/common.js';

export function AuditLogPage() {
    return html`<${Placeholder} title="Audit log" />`;
}
