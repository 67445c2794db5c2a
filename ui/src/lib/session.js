// @ts-check
// The browser's bindings of the API client: same-origin fetch with the
// session cookie, and off to sign in when the session has ended.
import { createClient } from './api.js';
import { navigate } from './nav.js';

export const api = createClient({
    fetch: (input, init) => window.fetch(input, init),
    cookies: () => document.cookie,
    unauthorized() {
        const back = location.pathname + location.search;
        if (!location.pathname.endsWith('/app/sign-in')) {
            navigate(`/app/sign-in?return_to=${encodeURIComponent(back)}`, { replace: true });
        }
    },
});
