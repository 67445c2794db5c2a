// @ts-check
// What people type into the administration forms, as the API takes it,
// and back: labels as "key=value, key=value", names as "a, b".

/**
 * "env=dev, team=core" as {env: "dev", team: "core"}; a term without "="
 * is a key with an empty value.
 * @param {string} text
 * @returns {Record<string, string>}
 */
export function parseLabels(text) {
    /** @type {Record<string, string>} */
    const out = {};
    for (const term of splitList(text)) {
        const eq = term.indexOf('=');
        if (eq < 0) {
            out[term] = '';
        } else {
            out[term.slice(0, eq).trim()] = term.slice(eq + 1).trim();
        }
    }
    return out;
}

/**
 * Labels as parseLabels reads them back, keys sorted.
 * @param {Record<string, any> | null | undefined} labels
 * @returns {string}
 */
export function labelsText(labels) {
    return Object.keys(labels || {}).sort()
        .map((k) => (labels && labels[k] !== '' ? `${k}=${labels[k]}` : k)).join(', ');
}

/**
 * "a, b,,c " as ["a", "b", "c"].
 * @param {string} text
 * @returns {string[]}
 */
export function splitList(text) {
    return text.split(',').map((s) => s.trim()).filter(Boolean);
}

/**
 * A whole number typed in a field, undefined when the field is empty (the
 * attribute is then left out and the server's default applies).
 * @param {string} text
 * @returns {number | undefined}
 */
export function optionalInt(text) {
    const t = text.trim();
    return t === '' ? undefined : Number(t);
}

/**
 * The value of the input an event came from.
 * @param {Event} e
 * @returns {string}
 */
export function inputValue(e) {
    return /** @type {HTMLInputElement} */ (e.currentTarget).value;
}

/**
 * Whether the checkbox an event came from is checked.
 * @param {Event} e
 * @returns {boolean}
 */
export function inputChecked(e) {
    return /** @type {HTMLInputElement} */ (e.currentTarget).checked;
}
