// @ts-check
// Navigation inside the page: the History API under the base path, and a
// listener list for the App to re-render on.
import { basePath, routePath, hrefOf } from './router.js';

/** @type {Set<() => void>} */
const listeners = new Set();

export function base() {
    return basePath(document.baseURI);
}

/** The route path and query of the current address ("/app/…?…"). */
export function currentPath() {
    return routePath(location.pathname, base()) + location.search;
}

/**
 * The href of a route path, for links.
 * @param {string} path
 */
export function href(path) {
    return hrefOf(path, base());
}

/**
 * Goes to a route path without reloading.
 * @param {string} path "/app/…", with a query if any
 * @param {{replace?: boolean}} [opts]
 */
export function navigate(path, opts = {}) {
    const url = href(path);
    if (opts.replace) {
        history.replaceState(null, '', url);
    } else {
        history.pushState(null, '', url);
    }
    listeners.forEach((fn) => fn());
}

/**
 * @param {() => void} fn
 * @returns {() => void} removes it
 */
export function onNavigate(fn) {
    listeners.add(fn);
    window.addEventListener('popstate', fn);
    return () => {
        listeners.delete(fn);
        window.removeEventListener('popstate', fn);
    };
}
