// @ts-check
// Signing in happens on the module's own page (a plain form, and a link per
// single sign-on provider); it sends the browser back to return_to, which
// must be a path on this server.

export const AUTHORIZE = '/api/terrapod/v1/auth/authorize';
export const PROVIDERS = '/api/terrapod/v1/auth/providers';
export const LOGOUT = '/api/terrapod/v1/auth/logout';

/**
 * The sign-in address that comes back to returnTo afterwards.
 * @param {string} returnTo a path on this server ("/…", not "//host")
 * @param {string} [provider] an SSO provider's name; the password form without
 * @returns {string}
 */
export function signInURL(returnTo, provider) {
    const back = /^\/(?![/\\])/.test(returnTo) ? returnTo : '/';
    const p = provider && provider !== 'local'
        ? `provider=${encodeURIComponent(provider)}&` : '';
    return `${AUTHORIZE}?${p}return_to=${encodeURIComponent(back)}`;
}
