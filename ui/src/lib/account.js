// @ts-check
// The platform role of the person signed in, as account details answer
// it: administration pages are read by admins and auditors and changed by
// admins only. Hiding a control is a courtesy; the server
// checks every request again.

/**
 * @param {{attributes?: Record<string, any>} | null | undefined} account
 * @returns {boolean}
 */
export function isAdmin(account) {
    return !!(account && account.attributes && account.attributes['is-admin'] === true);
}

