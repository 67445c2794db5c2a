// @ts-check
// The audit log's filters: the page's address carries them under short
// names (?actor=…&status=…), the API takes them as filter[…]. Times are
// typed as local date and time and sent as RFC 3339 in UTC.

/** The filters, in the order the form shows them. */
export const AUDIT_FILTERS = ['actor', 'action', 'status', 'resource-type', 'resource-id', 'since', 'until'];

/**
 * A local "YYYY-MM-DDTHH:MM" (a datetime-local field) as RFC 3339 UTC,
 * or '' when it is no time.
 * @param {string} local
 * @returns {string}
 */
export function localToRFC3339(local) {
    const d = new Date(local);
    return local && !Number.isNaN(d.getTime()) ? d.toISOString() : '';
}

/**
 * The API's query for the page's address.
 * @param {URLSearchParams} query
 * @returns {Record<string, string>}
 */
export function auditQuery(query) {
    /** @type {Record<string, string>} */
    const out = {};
    for (const name of AUDIT_FILTERS) {
        const v = (query.get(name) || '').trim();
        if (v) {
            out[`filter[${name}]`] = name === 'since' || name === 'until' ? localToRFC3339(v) || v : v;
        }
    }
    return out;
}
