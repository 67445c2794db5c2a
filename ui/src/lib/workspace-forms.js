// @ts-check
// What the settings and variables tabs send: form fields (strings and
// checkboxes) as API attributes, only the ones a person changed, labels
// typed as rows, and a variable whose sensitive value stays as it is
// unless a new one is typed.

/**
 * @typedef {'text' | 'bool' | 'int' | 'lines' | 'nullable'} FieldKind
 * text: a string; bool: a checkbox; int: a whole number; lines: a list of
 * strings, one a line; nullable: a string where empty means null
 */

/**
 * An attribute's value as a form field holds it.
 * @param {FieldKind} kind
 * @param {any} value
 * @returns {string | boolean}
 */
export function toField(kind, value) {
    if (kind === 'bool') return value === true;
    if (kind === 'lines') return (Array.isArray(value) ? value : []).join('\n');
    return value === null || value === undefined ? '' : String(value);
}

/**
 * A form field's value as the attribute the API takes; an int that is no
 * whole number goes as typed, for the server to refuse with its reason.
 * @param {FieldKind} kind
 * @param {string | boolean} field
 * @returns {any}
 */
export function fromField(kind, field) {
    if (kind === 'bool') return field === true;
    const text = String(field);
    if (kind === 'lines') return text.split('\n').map((s) => s.trim()).filter(Boolean);
    if (kind === 'nullable') return text.trim() === '' ? null : text.trim();
    if (kind === 'int') return /^\s*\d+\s*$/.test(text) ? Number(text) : text;
    return text;
}

/**
 * The attributes whose value in the form differs from the resource's.
 * @param {Record<string, FieldKind>} kinds attribute name -> kind
 * @param {Record<string, any>} attributes as the API answered
 * @param {Record<string, string | boolean>} form field values by attribute name
 * @returns {Record<string, any>}
 */
export function changedAttributes(kinds, attributes, form) {
    /** @type {Record<string, any>} */
    const out = {};
    for (const [name, kind] of Object.entries(kinds)) {
        const value = fromField(kind, form[name]);
        if (JSON.stringify(value) !== JSON.stringify(fromField(kind, toField(kind, attributes[name])))) {
            out[name] = value;
        }
    }
    return out;
}

/**
 * @typedef {{key: string, value: string}} LabelRow
 */

/**
 * Labels as rows to edit, keys sorted.
 * @param {Record<string, any> | null | undefined} labels
 * @returns {LabelRow[]}
 */
export function labelRows(labels) {
    return Object.keys(labels || {}).sort().map((key) => ({ key, value: String((labels || {})[key] ?? '') }));
}

/**
 * Rows as the labels object the API takes; rows left empty are dropped.
 * The server checks keys and values; a key given twice is caught here, as
 * an object could only keep one of them.
 * @param {LabelRow[]} rows
 * @returns {{labels: Record<string, string>} | {error: string}}
 */
export function labelsFromRows(rows) {
    /** @type {Record<string, string>} */
    const labels = {};
    for (const { key, value } of rows) {
        const k = key.trim();
        if (!k && !value.trim()) continue;
        if (!k) return { error: `the label with value "${value}" has no key` };
        if (Object.prototype.hasOwnProperty.call(labels, k)) return { error: `the key "${k}" is given twice` };
        labels[k] = value;
    }
    return { labels };
}

/**
 * @typedef {object} VarForm
 * @property {string} key
 * @property {string} value
 * @property {string} category terraform or env
 * @property {boolean} hcl
 * @property {boolean} sensitive
 * @property {string} description
 */

/**
 * A form for a variable: empty for a new one. A sensitive variable's
 * value is never read back, so its field starts empty.
 * @param {Record<string, any>} [attributes]
 * @returns {VarForm}
 */
export function varForm(attributes) {
    const a = attributes || {};
    return {
        key: a.key || '',
        value: a.sensitive ? '' : (a.value ?? ''),
        category: a.category || 'terraform',
        hcl: a.hcl === true,
        sensitive: a.sensitive === true,
        description: a.description || '',
    };
}

/**
 * The attributes to send for a form. Editing a sensitive variable, an
 * empty value field means "keep the stored value": value is left out.
 * @param {VarForm} form
 * @param {Record<string, any>} [existing] the variable's attributes when editing
 * @returns {Record<string, any>}
 */
export function varAttributes(form, existing) {
    /** @type {Record<string, any>} */
    const a = {
        key: form.key.trim(),
        category: form.category,
        hcl: form.hcl,
        sensitive: form.sensitive,
        description: form.description,
    };
    if (!(existing && existing.sensitive && form.value === '')) {
        a.value = form.value;
    }
    return a;
}
