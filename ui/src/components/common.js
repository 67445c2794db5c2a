// @ts-check
// Small pieces every page uses.
import { html } from '../lib/html.js';
import { href } from '../lib/nav.js';
import { statusLabel, statusKind } from '../lib/format.js';

/**
 * A link to a route path (clicks stay in the page; see App).
 * @param {{to: string, children?: any, class?: string, 'aria-current'?: string}} props
 */
export function Link({ to, children, ...rest }) {
    return html`<a href=${href(to)} ...${rest}>${children}</a>`;
}

/** @param {{error: any}} props */
export function ErrorNote({ error }) {
    if (!error) {
        return null;
    }
    const msg = error.status === 404 ? 'Not found, or not yours to see.'
        : error.message || String(error);
    return html`<p class="error" role="alert">${msg}</p>`;
}

export function Loading() {
    return html`<p class="muted" role="status">Loading…</p>`;
}

/** @param {{status: string}} props */
export function RunStatus({ status }) {
    if (!status) {
        return html`<span class="muted">No runs yet</span>`;
    }
    return html`<span class="badge badge-${statusKind(status)}">${statusLabel(status)}</span>`;
}

/**
 * Previous and next page of a paginated list.
 * @param {{pagination: import('../lib/api.js').Pagination, go: (page: number) => void, noun: string}} props
 */
export function Pager({ pagination: p, go, noun }) {
    return html`<nav class="pager" aria-label="Pages">
        <button type="button" disabled=${!p['prev-page']}
            onClick=${() => p['prev-page'] && go(p['prev-page'])}>Previous</button>
        <span>${`Page ${p['current-page']} of ${Math.max(1, p['total-pages'])} (${p['total-count']} ${noun})`}</span>
        <button type="button" disabled=${!p['next-page']}
            onClick=${() => p['next-page'] && go(p['next-page'])}>Next</button>
    </nav>`;
}

/** @param {{title: string, children?: any}} props */
export function Placeholder({ title, children }) {
    return html`<section>
        <h1>${title}</h1>
        <p class="muted">This page is not written yet.</p>
        ${children}
    </section>`;
}

/**
 * A line saying whether the page follows changes live.
 * @param {{state: import('../lib/events.js').StreamState}} props
 */
export function LiveState({ state }) {
    const text = state === 'open' ? 'Live'
        : state === 'unavailable' ? 'Not live: refreshing every few seconds'
        : 'Connecting…';
    return html`<span class="live live-${state}" role="status">${text}</span>`;
}
