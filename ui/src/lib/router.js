// @ts-check
// Path routes under a base path found at run time. The UI may be served at
// the root of the instance or under any prefix of another web server: the
// <base href> of index.html names it, and every route is a path below it.


/**
 * The path prefix the UI is served under, ending with "/".
 * @param {string} baseURI document.baseURI
 * @returns {string}
 */
export function basePath(baseURI) {
    const p = new URL('.', baseURI).pathname;
    return p.endsWith('/') ? p : p + '/';
}

/**
 * The route path ("/app/…") of a location path under the base.
 * @param {string} pathname
 * @param {string} base
 * @returns {string}
 */
export function routePath(pathname, base) {
    if (pathname === base.slice(0, -1)) {
        return '/';
    }
    return pathname.startsWith(base) ? '/' + pathname.slice(base.length) : pathname;
}

/**
 * The location path of a route path.
 * @param {string} path route path, "/…"
 * @param {string} base
 * @returns {string}
 */
export function hrefOf(path, base) {
    return base + path.replace(/^\/+/, '');
}

/**
 * The first route whose pattern matches the path, with the decoded
 * values of its :parameters; null when none does.
 * @template {{pattern: string}} R
 * @param {R[]} routes
 * @param {string} path
 * @returns {{route: R, params: Record<string, string>} | null}
 */
export function match(routes, path) {
    const parts = path.split('/').filter(Boolean);

    for (const route of routes) {
        const want = route.pattern.split('/').filter(Boolean);
        /** @type {Record<string, string>} */
        const params = {};

        if (want.length !== parts.length) {
            continue;
        }
        const ok = want.every((w, i) => {
            if (w.startsWith(':')) {
                try {
                    params[w.slice(1)] = decodeURIComponent(parts[i]);
                } catch {
                    return false;
                }
                return true;
            }
            return w === parts[i];
        });
        if (ok) {
            return { route, params };
        }
    }
    return null;
}

/**
 * Fills a pattern's :parameters (encoded): the inverse of match.
 * @param {string} pattern
 * @param {Record<string, string>} params
 * @returns {string}
 */
export function fill(pattern, params) {
    return pattern.replace(/:([a-z_]+)/g, (_, name) => {
        if (!(name in params)) {
            throw new Error(`no value for :${name} in ${pattern}`);
        }
        return encodeURIComponent(params[name]);
    });
}

/**
 * Whether a click on a link should stay in the page (a plain left click on
 * a same-origin link under the base, no modifier, no target).
 * @param {MouseEvent} ev
 * @param {HTMLAnchorElement} a
 * @param {string} base
 * @returns {boolean}
 */
export function isInAppClick(ev, a, base) {
    if (ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey
        || ev.shiftKey || ev.altKey || a.target || a.hasAttribute('download')) {
        return false;
    }
    const url = new URL(a.href);
    return url.origin === location.origin && url.pathname.startsWith(base)
        && !url.pathname.startsWith('/api/');
}
