// @ts-check
// Starts Swagger UI on the API's OpenAPI document, from this file rather
// than an inline script (the Content-Security-Policy allows none). Calls
// made with "Try it out" go to this origin with the session cookie, and
// those that change something carry the X-CSRF-Token header as the UI's
// own calls do. No validator: nothing is sent elsewhere. Deep links are
// off: Swagger UI puts them as links inside the operations' buttons, which
// assistive technology cannot tell apart.
import { CSRF_COOKIE, cookieValue } from '../lib/api.js';
import { OPENAPI, withCSRF } from './openapi.js';
import './api-docs.css';

const root = /** @type {HTMLElement} */ (document.getElementById('swagger-ui'));

/** @param {string} text */
function fail(text) {
    const p = document.createElement('p');
    p.className = 'api-docs-error';
    p.setAttribute('role', 'alert');
    p.textContent = text;
    root.replaceChildren(p);
}

async function start() {
    let res;
    try {
        res = await fetch(OPENAPI, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
    } catch {
        fail(`The API description (${OPENAPI}) could not be read: the server did not answer.`);
        return;
    }
    if (!res.ok) {
        fail(res.status === 404
            ? `This server does not publish an API description: ${OPENAPI} answered 404.`
            : `The API description (${OPENAPI}) could not be read: the server answered ${res.status}.`);
        return;
    }
    const spec = await res.json();
    root.replaceChildren();
    /** @type {any} */ (window).SwaggerUIBundle({
        spec,
        domNode: root,
        validatorUrl: null,
        deepLinking: false,
        tryItOutEnabled: false,
        requestInterceptor: (/** @type {any} */ req) => withCSRF(req, cookieValue(document.cookie, CSRF_COOKIE)),
    });
    labelControls();
}

/** Swagger UI's text areas (a request body, a parameter's values) and its
 * server list come without a label: each gets one as it appears. */
function labelControls() {
    const name = (/** @type {Element} */ el) => (el.tagName === 'SELECT' ? 'Server'
        : el.closest('.body-param') ? 'Request body' : 'Value');
    const label = () => root.querySelectorAll('textarea:not([aria-label]), select#servers:not([aria-label])')
        .forEach((el) => el.setAttribute('aria-label', name(el)));
    label();
    new MutationObserver(label).observe(root, { childList: true, subtree: true });
}

window.addEventListener('load', start);
