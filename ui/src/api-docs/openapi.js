// @ts-check
// Where the API describes itself, and what Swagger UI's calls need to be
// taken for the person's own.

export const OPENAPI = '/api/terrapod/v1/openapi.json';

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * A Swagger UI request as it should leave: same-origin credentials, and
 * the session's CSRF token on methods that change something.
 * @template {{method?: string, headers?: Record<string, string>, credentials?: string}} R
 * @param {R} req
 * @param {string} csrf the terrapod_csrf cookie's value ('' without a session)
 * @returns {R}
 */
export function withCSRF(req, csrf) {
    req.credentials = 'same-origin';
    if (csrf && !SAFE.has(String(req.method || 'GET').toUpperCase())) {
        req.headers = { ...req.headers, 'X-CSRF-Token': csrf };
    }
    return req;
}
