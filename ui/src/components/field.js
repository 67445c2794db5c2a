// @ts-check
// One field of a settings form made from a table of fields (the
// workspace's settings, an autodiscovery rule): a checkbox, a choice, a
// text area or a line, with its label and hint.
import { html } from '../lib/html.js';

/**
 * @typedef {import('../lib/workspace-forms.js').FieldKind} FieldKind
 * @typedef {{name: string, label: string, kind: FieldKind, options?: [string, string][],
 *   hint?: string, long?: boolean, required?: boolean, show?: (form: Record<string, any>) => boolean}} Field
 */

/**
 * @param {{f: Field, value: any, set: (name: string, value: any) => void, prefix: string,
 *   choices?: any}} props choices: the options of a select among resources, for the fields that have one
 */
export function FieldControl({ f, value, set, prefix, choices }) {
    const id = `${prefix}-${f.name}`;
    if (f.kind === 'bool') {
        return html`<label class="inline"><input type="checkbox" name=${f.name} checked=${value}
            onChange=${(/** @type {any} */ e) => set(f.name, e.currentTarget.checked)} /> ${f.label}</label>`;
    }
    const onInput = (/** @type {any} */ e) => set(f.name, e.currentTarget.value);
    const described = f.hint ? `${id}-hint` : undefined;
    let input;
    if (choices) {
        input = html`<select id=${id} name=${f.name} value=${value} onChange=${onInput}>${choices}</select>`;
    } else if (f.options) {
        input = html`<select id=${id} name=${f.name} value=${value} onChange=${onInput}>
            ${f.options.map(([v, label]) => html`<option value=${v}>${label}</option>`)}
        </select>`;
    } else if (f.long || f.kind === 'lines') {
        input = html`<textarea id=${id} name=${f.name} rows="3" value=${value} aria-describedby=${described}
            onInput=${onInput}></textarea>`;
    } else {
        input = html`<input id=${id} name=${f.name} value=${value} aria-describedby=${described}
            required=${f.required} inputmode=${f.kind === 'int' ? 'numeric' : undefined} onInput=${onInput} />`;
    }
    return html`<div class="field">
        <label for=${id}>${f.label}</label>
        ${input}
        ${f.hint && html`<span class="hint" id=${described}>${f.hint}</span>`}
    </div>`;
}
