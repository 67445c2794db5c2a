// @ts-check
// The browser's bindings of the API client: same-origin fetch with the
// session cookie, and off to sign in when the session has ended. A 401
// goes straight to the module's sign-in page, which offers the password
// form and every single sign-on provider and comes back here afterwards
// (sign-in requests have a small budget per address: no detour first).
import { createClient } from './api.js';
import { signInURL } from './auth.js';

let leaving = false;

export const api = createClient({
    fetch: (input, init) => window.fetch(input, init),
    cookies: () => document.cookie,
    unauthorized() {
        if (!leaving) {
            leaving = true;
            location.assign(signInURL(location.pathname + location.search));
        }
    },
});
