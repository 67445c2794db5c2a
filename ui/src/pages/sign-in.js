// @ts-check
// Where the UI sends people who signed out: the ways to sign in again,
// the module's form for email and password and each single sign-on
// provider. With only the password form configured, it goes there at once.
import { useEffect } from 'preact/hooks';
import { html } from '../lib/html.js';
import { useLoad } from '../lib/hooks.js';
import { api } from '../lib/session.js';
import { PROVIDERS, signInURL } from '../lib/auth.js';
import { href } from '../lib/nav.js';
import { HOME } from '../lib/paths.js';
import { ErrorNote, Loading } from '../components/common.js';

/** @param {{query: URLSearchParams}} props */
export function SignInPage({ query }) {
    const back = query.get('return_to') || href(HOME);
    const signedOut = query.has('signed_out');
    const { data, error } = useLoad(() => api.get(PROVIDERS), []);
    const providers = data ? data.data.filter((/** @type {any} */ p) => p.attributes.available) : [];

    useEffect(() => {
        if (!signedOut && providers.length === 1) {
            location.replace(signInURL(back, providers[0].id));
        }
    }, [data]);

    if (error) {
        return html`<${ErrorNote} error=${error} />`;
    }
    if (!data || (!signedOut && providers.length === 1)) {
        return html`<${Loading} />`;
    }
    return html`<section class="sign-in">
        <h1>Sign in to Terrapod</h1>
        ${signedOut && html`<p role="status">You are signed out.</p>`}
        <ul class="providers">
            ${providers.map((/** @type {any} */ p) => html`<li>
                <a class="button" href=${signInURL(back, p.id)}>${p.attributes.kind === 'local'
                    ? 'Sign in with email and password'
                    : `Sign in with ${p.attributes['display-name']}`}</a>
            </li>`)}
        </ul>
    </section>`;
}
