// @ts-check
// Words and numbers as pages show them.

/**
 * A workspace's lock in words, or '' when it is not locked.
 * @param {Record<string, any>} a workspace attributes
 * @returns {string}
 */
export function lockText(a) {
    if (!a.locked) {
        return '';
    }
    const who = a['locked-by'] || 'someone';
    return a['lock-reason'] ? `Locked by ${who} — ${a['lock-reason']}` : `Locked by ${who}`;
}

/** Run statuses after which nothing more happens. */
export const FINAL_STATUSES = new Set([
    'applied', 'planned_and_finished', 'planned_and_saved', 'discarded',
    'errored', 'canceled', 'force_canceled',
]);

/**
 * @param {string} status
 * @returns {boolean}
 */
export function isFinal(status) {
    return FINAL_STATUSES.has(status);
}

/**
 * A run status for people: "plan_queued" -> "Plan queued".
 * @param {string} status
 * @returns {string}
 */
export function statusLabel(status) {
    if (!status) {
        return '';
    }
    const s = status.replace(/_/g, ' ');
    return s[0].toUpperCase() + s.slice(1);
}

/**
 * The kind of a status, for its colour: ok, bad, wait, busy or done.
 * @param {string} status
 * @returns {string}
 */
export function statusKind(status) {
    if (status === 'applied' || status === 'planned_and_finished') return 'ok';
    if (status === 'errored') return 'bad';
    if (status === 'planned' || status === 'planned_and_saved' || status === 'policy_override') return 'wait';
    if (isFinal(status)) return 'done';
    return 'busy';
}

/**
 * An RFC 3339 time as a short local date and time, '' for none.
 * @param {string|null|undefined} iso
 * @returns {string}
 */
export function when(iso) {
    if (!iso) {
        return '';
    }
    const d = new Date(iso);
    return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

/**
 * Bytes for people: 1536 -> "1.5 KiB".
 * @param {number|null|undefined} n
 * @returns {string}
 */
export function bytes(n) {
    if (n === null || n === undefined) {
        return '';
    }
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let v = n;
    let i = 0;
    while (v >= 1024 && i < units.length - 1) {
        v /= 1024;
        i++;
    }
    return i === 0 ? `${v} B` : `${v.toFixed(1)} ${units[i]}`;
}

/**
 * Labels (a JSON object) as "key=value" strings, keys sorted.
 * @param {Record<string, any>|null|undefined} labels
 * @returns {string[]}
 */
export function labelList(labels) {
    return Object.keys(labels || {}).sort()
        .map((k) => (labels && labels[k] !== '' && labels[k] !== null ? `${k}=${labels[k]}` : k));
}

/**
 * A label filter as typed ("team=core" or "team") as the list's query
 * parameters (filter[tagged][0][key] and, with a value, [value]).
 * @param {string} text
 * @returns {Record<string, string>}
 */
export function labelQuery(text) {
    /** @type {Record<string, string>} */
    const q = {};
    text.split(',').map((s) => s.trim()).filter(Boolean).forEach((term, i) => {
        const eq = term.indexOf('=');
        if (eq < 0) {
            q[`filter[tagged][${i}][key]`] = term;
        } else {
            q[`filter[tagged][${i}][key]`] = term.slice(0, eq).trim();
            q[`filter[tagged][${i}][value]`] = term.slice(eq + 1).trim();
        }
    });
    return q;
}
