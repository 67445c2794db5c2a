// @ts-check
// The page frame: finds the route of the address, keeps clicks on links
// inside the page, and lays out the navigation around the page.
import { useEffect, useRef, useState } from 'preact/hooks';
import { html } from './lib/html.js';
import { match, fill, isInAppClick } from './lib/router.js';
import { base, currentPath, navigate, onNavigate } from './lib/nav.js';
import { api } from './lib/session.js';
import { LOGOUT } from './lib/auth.js';
import { routes, NotFoundPage } from './routes.js';
import { ORG } from './lib/paths.js';
import { Link } from './components/common.js';

/** @typedef {import('./routes.js').RouteRow} RouteRow */

/** @param {{account: any, active: RouteRow|null}} props */
function Navigation({ account, active }) {
    const a = (account && account.attributes) || {};
    const admin = a['is-admin'] || a['is-audit'];
    /** @param {string} group */
    const entries = (group) => routes.filter((r) => r.nav && r.nav.group === group
                                             && (!r.nav.admin || admin)
                                             && (!r.nav.adminOnly || a['is-admin']));
    /** @param {RouteRow} r */
    const item = (r) => html`<li>
        <${Link} to=${fill(r.pattern, { org: ORG })}
            aria-current=${r === active ? 'page' : undefined}>${r.nav && r.nav.label}<//>
    </li>`;
    return html`<nav class="site-nav" aria-label="Main">
        <ul>${entries('main').map(item)}</ul>
        ${admin && html`<h2 class="nav-group">Administration</h2>
            <ul>${entries('admin').map(item)}</ul>`}
        <h2 class="nav-group">Your account</h2>
        <ul>${entries('settings').map(item)}</ul>
    </nav>`;
}

async function signOut() {
    try {
        await api.post(LOGOUT);
    } finally {
        navigate('/app/sign-in?signed_out=1', { replace: true });
    }
}

/**
 * "#main" would resolve against <base>, another page: focus it instead.
 * @param {MouseEvent} ev
 */
function skipToContent(ev) {
    ev.preventDefault();
    const main = document.getElementById('main');
    if (main) {
        main.focus();
    }
}

/** @param {{account: any}} props */
function Header({ account }) {
    const a = (account && account.attributes) || {};
    return html`<header class="site-header">
        <a class="skip" href="#main" onClick=${skipToContent}>Skip to content</a>
        <${Link} to="/" class="brand">Terrapod<//>
        <div class="who">
            ${a.email && html`<span>${a['display-name'] || a.email}</span>`}
            ${a.email && html`<button type="button" onClick=${signOut}>Sign out</button>`}
        </div>
    </header>`;
}

export function App() {
    const [path, setPath] = useState(currentPath());
    const [account, setAccount] = useState(/** @type {any} */ (null));
    const [pathname, search] = splitQuery(path);
    const m = match(routes, pathname);
    const route = m ? m.route : null;

    useEffect(() => onNavigate(() => setPath(currentPath())), []);
    useEffect(() => {
        /** @param {MouseEvent} ev */
        const click = (ev) => {
            const a = ev.target instanceof Element ? ev.target.closest('a') : null;
            if (a && isInAppClick(ev, a, base())) {
                ev.preventDefault();
                const url = new URL(a.href);
                navigate('/' + url.pathname.slice(base().length) + url.search);
            }
        };
        document.addEventListener('click', click);
        return () => document.removeEventListener('click', click);
    }, []);
    useEffect(() => {
        if (route && route.redirect) {
            navigate(route.redirect, { replace: true });
        }
    }, [route]);
    useEffect(() => {
        if (route && !route.public && !account) {
            api.get('/api/v2/account/details').then((d) => setAccount(d.data), () => {});
        }
    }, [route, account]);
    const first = useRef(true);
    useEffect(() => {
        // each page its own title: the workspace's name on its pages
        const parts = [route && route.title, m && m.params.name, 'Terrapod'];
        document.title = parts.filter(Boolean).join(' · ');
        // a new page: reading (and a screen reader) starts at its top
        window.scrollTo(0, 0);
        const main = document.getElementById('main');
        if (!first.current && main) {
            main.focus({ preventScroll: true });
        }
        first.current = false;
    }, [pathname]);

    if (route && route.redirect) {
        return null;
    }
    const Page = route ? route.page : NotFoundPage;
    const query = new URLSearchParams(search);
    if (route && route.public) {
        return html`<main id="main" class="bare"><${Page} params=${m && m.params} query=${query} /></main>`;
    }
    return html`<div class="frame">
        <${Header} account=${account} />
        <${Navigation} account=${account} active=${route} />
        <main id="main" tabindex="-1">
            <${Page} key=${pathname} params=${(m && m.params) || {}} query=${query} account=${account} />
        </main>
    </div>`;
}

/**
 * @param {string} path
 * @returns {[string, string]}
 */
function splitQuery(path) {
    const q = path.indexOf('?');
    return q < 0 ? [path, ''] : [path.slice(0, q), path.slice(q)];
}
