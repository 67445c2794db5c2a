// @ts-check
// One autodiscovery rule (platform admins): its settings, a preview of
// what it would create now, a scan that creates it, and deleting it (the
// workspaces it made stay).
import { useState } from 'preact/hooks';
import { html } from '../lib/html.js';
import { api } from '../lib/session.js';
import { useLoad } from '../lib/hooks.js';
import { useAction } from '../lib/action.js';
import { AUTODISCOVERY_RULES, previewRows } from '../lib/vcs.js';
import { Link, ErrorNote, Loading } from '../components/common.js';
import { DeleteSection } from '../components/delete-section.js';
import { RuleForm, PreviewTable, usePreview, previewUnsaved } from '../components/autodiscovery.js';

/** @param {{params: {id: string}}} props */
export function AutodiscoveryRulePage({ params }) {
    const path = `${AUTODISCOVERY_RULES}/${encodeURIComponent(params.id)}`;
    const { data, error, reload } = useLoad(() => api.get(path), [path]);
    const preview = usePreview();
    const scan = useAction();
    const [scanned, setScanned] = useState(/** @type {any} */ (null));
    const r = data && data.data;

    if (error && !r) {
        return html`<h1>Autodiscovery rule</h1><${ErrorNote} error=${error} />`;
    }
    if (!r) {
        return html`<${Loading} />`;
    }
    const a = r.attributes || {};
    const rows = scanned ? previewRows(scanned) : [];
    return html`<article>
        <header class="page-head">
            <p class="crumbs"><${Link} to="/app/admin/autodiscovery-rules">Autodiscovery rules<//></p>
            <h1>${a.name}</h1>
        </header>
        <p class="buttons">
            <button type="button" onClick=${() => preview.show(() => api.get(`${path}/preview`))}>Preview saved rule</button>
            <button type="button" class="primary" disabled=${scan.busy} onClick=${async () => {
                setScanned(null);
                await scan.run(async () => setScanned(await api.post(`${path}/scan`)));
            }}>${scan.busy ? 'Scanning…' : 'Scan now'}</button>
        </p>
        ${preview.view}
        <${ErrorNote} error=${scan.error} />
        ${scanned && html`<section aria-labelledby="scan-h">
            <h2 id="scan-h">Scan</h2>
            <p role="status">The scan is done${scanned.meta && typeof scanned.meta.created === 'number'
                ? `: ${scanned.meta.created} workspaces created` : ''}.</p>
            ${rows.length > 0 && html`<${PreviewTable} rows=${rows} label="Scanned" />`}
        </section>`}
        <section aria-labelledby="rule-h">
            <h2 id="rule-h">Settings</h2>
            <${RuleForm} current=${r}
                send=${async (/** @type {Record<string, any>} */ attributes) => {
                    await api.patch(path, { data: { type: 'autodiscovery-rules', attributes } });
                    await reload();
                }}
                preview=${(/** @type {Record<string, any>} */ attributes) => preview.show(() => previewUnsaved(attributes))} />
        </section>
        <${DeleteSection} noun="rule" name=${a.name} path=${path} back="/app/admin/autodiscovery-rules">
            The workspaces this rule created stay; they are no longer tied to it.<//>
    </article>`;
}
