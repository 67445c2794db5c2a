// @ts-check
// The planned resource changes of a plan's JSON (terraform show -json): what
// happens to each address, in the words a run page shows.

/**
 * @typedef {'add'|'change'|'destroy'|'replace'|'import'|'read'} ChangeKind
 * @typedef {{address: string, kind: ChangeKind}} Change
 */

/**
 * What a resource change's actions (and import) amount to; null for a
 * change that does nothing.
 * @param {{actions?: string[], importing?: any}} change
 * @returns {ChangeKind|null}
 */
export function changeKind(change) {
    const a = (change.actions || []).join(',');
    if (a === 'create') return 'add';
    if (a === 'update') return 'change';
    if (a === 'delete') return 'destroy';
    if (a === 'delete,create' || a === 'create,delete') return 'replace';
    if (a === 'read') return 'read';
    if (change.importing) return 'import';
    return null;
}

/**
 * The changes of a plan JSON, in its order; no-ops left out.
 * @param {any} planJSON
 * @returns {Change[]}
 */
export function plannedChanges(planJSON) {
    const out = [];
    for (const rc of (planJSON && planJSON.resource_changes) || []) {
        const kind = changeKind(rc.change || {});
        if (kind) {
            out.push({ address: rc.address, kind });
        }
    }
    return out;
}

/**
 * How many changes of each kind.
 * @param {Change[]} changes
 * @returns {Record<ChangeKind, number>}
 */
export function changeCounts(changes) {
    /** @type {Record<ChangeKind, number>} */
    const n = { add: 0, change: 0, destroy: 0, replace: 0, import: 0, read: 0 };
    for (const c of changes) {
        n[c.kind]++;
    }
    return n;
}
