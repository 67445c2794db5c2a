// @ts-check
// The one API client every page uses: JSON:API documents and errors,
// pagination, included documents, the CSRF header of cookie sessions, and
// the end of a session (401: off to the sign-in page and back).

/**
 * @typedef {{id: string, type: string, attributes?: Record<string, any>,
 *   relationships?: Record<string, any>, links?: Record<string, any>}} Resource
 * @typedef {{data: any, included?: Resource[], meta?: any, links?: any}} Document
 * @typedef {{'current-page': number, 'prev-page': number|null,
 *   'next-page': number|null, 'total-pages': number, 'total-count': number}} Pagination
 * @typedef {Record<string, string|number|boolean|null|undefined>} Query
 */

export const CSRF_COOKIE = 'terrapod_csrf';
export const JSONAPI = 'application/vnd.api+json';

export class ApiError extends Error {
    /**
     * @param {number} status
     * @param {string} message
     * @param {any[]} [errors]
     */
    constructor(status, message, errors) {
        super(message);
        this.name = 'ApiError';
        this.status = status;
        this.errors = errors || [];
    }
}

/**
 * A cookie's value in a document.cookie string, or ''.
 * @param {string} cookies
 * @param {string} name
 * @returns {string}
 */
export function cookieValue(cookies, name) {
    for (const part of cookies.split(';')) {
        const eq = part.indexOf('=');
        if (eq > 0 && part.slice(0, eq).trim() === name) {
            return decodeURIComponent(part.slice(eq + 1).trim());
        }
    }
    return '';
}

/**
 * A path with its query; parameters with null, undefined or '' values are
 * left out, the rest encoded (brackets too, as the server decodes them).
 * @param {string} path
 * @param {Query} [query]
 * @returns {string}
 */
export function withQuery(path, query) {
    const q = Object.entries(query || {})
        .filter(([, v]) => v !== null && v !== undefined && v !== '')
        .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
        .join('&');
    if (!q) {
        return path;
    }
    return path + (path.includes('?') ? '&' : '?') + q;
}

/**
 * The message a failed answer carries: its JSON:API errors' details, or
 * the status.
 * @param {number} status
 * @param {any} body
 * @returns {string}
 */
export function errorMessage(status, body) {
    const errs = body && Array.isArray(body.errors) ? body.errors : [];
    const text = errs.map((e) => e.detail || e.title).filter(Boolean).join('; ');
    return text || `the server answered ${status}`;
}

/**
 * Included documents by "type/id".
 * @param {Document} doc
 * @returns {Map<string, Resource>}
 */
export function includedIndex(doc) {
    const m = new Map();
    for (const r of doc.included || []) {
        m.set(`${r.type}/${r.id}`, r);
    }
    return m;
}

/**
 * The included document a relationship of a resource points to, if any.
 * @param {Map<string, Resource>} index
 * @param {Resource} res
 * @param {string} name relationship name
 * @returns {Resource | undefined}
 */
export function related(index, res, name) {
    const d = res.relationships && res.relationships[name]
        && res.relationships[name].data;
    return d ? index.get(`${d.type}/${d.id}`) : undefined;
}

/**
 * @typedef {object} ClientDeps
 * @property {typeof fetch} fetch
 * @property {() => string} cookies document.cookie
 * @property {() => void} unauthorized called on a 401 (the session ended)
 * @property {(ms: number) => Promise<void>} [sleep] waits (tests pass their own)
 */

/** Tries of a request the server's rate limits refuse (429) before its
 * error is shown; the server refuses before it acts, so any method may
 * be sent again. */
const RATE_LIMITED_TRIES = 4;
/** The longest a page waits for one Retry-After. */
const MAX_RETRY_WAIT_MS = 10000;

/**
 * How long to wait after a 429: its Retry-After, one second without one.
 * @param {{headers?: {get: (name: string) => string|null}}} res
 * @returns {number} ms
 */
export function rateLimitWait(res) {
    const ms = retryAfter(res.headers ? res.headers.get('Retry-After') : null);
    return Math.min(ms ?? 1000, MAX_RETRY_WAIT_MS);
}

/**
 * Seconds of a Retry-After header (delta seconds only), in ms, or null.
 * @param {string|null} value
 * @returns {number|null}
 */
export function retryAfter(value) {
    return value && /^\d+$/.test(value.trim()) ? Number(value) * 1000 : null;
}

/**
 * @param {ClientDeps} deps
 */
export function createClient(deps) {
    const sleep = deps.sleep
        || ((/** @type {number} */ ms) => new Promise((resolve) => setTimeout(resolve, ms)));

    /**
     * @param {string} method
     * @param {string} path
     * @param {{query?: Query, body?: any}} [opts]
     * @returns {Promise<any>} the parsed answer, null when it has no body
     */
    async function request(method, path, opts = {}) {
        /** @type {Record<string, string>} */
        const headers = { Accept: JSONAPI };
        if (opts.body !== undefined) {
            headers['Content-Type'] = JSONAPI;
        }
        if (method !== 'GET' && method !== 'HEAD') {
            const token = cookieValue(deps.cookies(), CSRF_COOKIE);
            if (token) {
                headers['X-CSRF-Token'] = token;
            }
        }
        const send = () => deps.fetch(withQuery(path, opts.query), {
            method,
            headers,
            credentials: 'same-origin',
            body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
        });
        let res = await send();
        // a person's pages share their rate limit with their other tabs
        // and tools: wait as the server asks, as any good client does
        for (let tries = 1; res.status === 429 && tries < RATE_LIMITED_TRIES; tries++) {
            await sleep(rateLimitWait(res));
            res = await send();
        }
        const text = await res.text();
        let body = null;
        if (text) {
            try {
                body = JSON.parse(text);
            } catch {
                body = null;
            }
        }
        if (res.status === 401) {
            deps.unauthorized();
        }
        if (!res.ok) {
            throw new ApiError(res.status, errorMessage(res.status, body),
                body && body.errors);
        }
        return body;
    }

    return {
        request,
        /** @param {string} path @param {Query} [query] @returns {Promise<Document>} */
        get: (path, query) => request('GET', path, { query }),
        /** @param {string} path @param {any} [body] */
        post: (path, body) => request('POST', path, { body }),
        /** @param {string} path @param {any} [body] */
        patch: (path, body) => request('PATCH', path, { body }),
        /** @param {string} path */
        del: (path) => request('DELETE', path),
        /**
         * A page of a list.
         * @param {string} path
         * @param {number} page
         * @param {number} size
         * @param {Query} [query]
         * @returns {Promise<{data: Resource[], included: Map<string, Resource>,
         *   pagination: Pagination}>}
         */
        async list(path, page, size, query) {
            const doc = await request('GET', path, {
                query: { ...query, 'page[number]': page, 'page[size]': size },
            });
            return {
                data: doc.data,
                included: includedIndex(doc),
                pagination: (doc.meta && doc.meta.pagination) || {
                    'current-page': page, 'prev-page': null, 'next-page': null,
                    'total-pages': 1, 'total-count': doc.data.length,
                },
            };
        },
    };
}

/** @typedef {ReturnType<typeof createClient>} Client */
