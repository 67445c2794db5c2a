// @ts-check
// What a page offers follows the permissions and actions the API returns
// with each resource. Hiding a control is a courtesy: the server checks
// every request again and stays the only judge.

/**
 * Whether a resource's permissions block grants a permission.
 * @param {{attributes?: Record<string, any>} | null | undefined} res
 * @param {string} name e.g. "can-lock"
 * @returns {boolean}
 */
export function can(res, name) {
    const perms = res && res.attributes && res.attributes.permissions;
    return !!(perms && perms[name] === true);
}

/**
 * The lock controls a workspace offers its reader: unlock needs the lock
 * to be the reader's own to release (the server decides; the API says
 * can-unlock), force-unlock is for someone else's lock.
 * @param {{attributes?: Record<string, any>}} ws
 * @returns {('lock'|'unlock'|'force-unlock')[]}
 */
export function lockActions(ws) {
    const a = ws.attributes || {};
    if (!a.locked) {
        return can(ws, 'can-lock') ? ['lock'] : [];
    }
    /** @type {('unlock'|'force-unlock')[]} */
    const out = [];
    if (can(ws, 'can-unlock')) out.push('unlock');
    if (can(ws, 'can-force-unlock')) out.push('force-unlock');
    return out;
}

/** The run actions a page may offer, in the order it shows them. */
export const RUN_ACTIONS = /** @type {const} */ ([
    { action: 'apply', label: 'Confirm & apply', allowed: 'is-confirmable', perm: 'can-apply' },
    { action: 'discard', label: 'Discard run', allowed: 'is-discardable', perm: 'can-discard' },
    { action: 'cancel', label: 'Cancel run', allowed: 'is-cancelable', perm: 'can-cancel' },
    { action: 'force-cancel', label: 'Force cancel', allowed: 'is-force-cancelable', perm: 'can-force-cancel' },
]);

/**
 * The actions a run allows now (its "actions" block) that its reader may
 * take (its "permissions" block).
 * @param {{attributes?: Record<string, any>}} run
 * @returns {typeof RUN_ACTIONS[number][]}
 */
export function runActions(run) {
    const a = (run.attributes && run.attributes.actions) || {};
    return RUN_ACTIONS.filter((x) => a[x.allowed] === true && can(run, x.perm));
}
