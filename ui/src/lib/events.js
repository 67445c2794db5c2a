// @ts-check
// The live event streams (text/event-stream). Read with fetch rather than
// EventSource so that the page knows why a stream is not there: a 404 means
// this server has no live events (pages then poll what they show), a 503
// says when to come back, and an ended stream is resumed from the last id.
// An event only says what to fetch again; the API stays the source of truth.
import { retryAfter } from './api.js';

/**
 * @typedef {{id: string, event: string, data: any}} StreamEvent
 * @typedef {'connecting'|'open'|'retrying'|'unavailable'|'closed'} StreamState
 */

/** Incremental parser of an event stream, fed text as it arrives. */
export class SSEParser {
    constructor() {
        this.buf = '';
        /** @type {string[]} */
        this.data = [];
        this.type = '';
        this.id = '';
        this.lastId = '';
        /** @type {number|null} the server's retry: hint, in ms */
        this.retry = null;
    }

    /** A new connection: what the last one left unfinished is dropped. */
    restart() {
        this.buf = '';
        this.data = [];
        this.type = '';
        this.id = this.lastId;
    }

    /**
     * @param {string} text
     * @returns {StreamEvent[]} the events the text completed
     */
    feed(text) {
        /** @type {StreamEvent[]} */
        const out = [];
        let nl;

        this.buf += text;
        while ((nl = this.buf.search(/\r\n|\r|\n/)) >= 0) {
            const line = this.buf.slice(0, nl);
            const crlf = this.buf.startsWith('\r\n', nl);
            // a lone CR at the end may be the first half of a CRLF
            if (this.buf[nl] === '\r' && nl === this.buf.length - 1) {
                break;
            }
            this.buf = this.buf.slice(nl + (crlf ? 2 : 1));
            this.line(line, out);
        }
        return out;
    }

    /**
     * @param {string} line
     * @param {StreamEvent[]} out
     */
    line(line, out) {
        if (line === '') {
            this.dispatch(out);
            return;
        }
        if (line.startsWith(':')) {
            return;
        }
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        let value = colon < 0 ? '' : line.slice(colon + 1);
        if (value.startsWith(' ')) {
            value = value.slice(1);
        }
        if (field === 'data') {
            this.data.push(value);
        } else if (field === 'event') {
            this.type = value;
        } else if (field === 'id' && !value.includes('\0')) {
            this.id = value;
        } else if (field === 'retry' && /^\d+$/.test(value)) {
            this.retry = Number(value);
        }
    }

    /** @param {StreamEvent[]} out */
    dispatch(out) {
        const type = this.type || 'message';
        if (this.id) {
            this.lastId = this.id;
        }
        if (this.data.length) {
            const raw = this.data.join('\n');
            let data;
            try {
                data = JSON.parse(raw);
            } catch {
                data = raw;
            }
            out.push({ id: this.lastId, event: type, data });
        }
        this.data = [];
        this.type = '';
    }
}

/**
 * How long to wait before connecting again, in ms: the server's hint (or
 * one second) doubled per failure in a row, at most 30 s.
 * @param {number} failures consecutive failed attempts (0: the stream ended normally)
 * @param {number|null} hint the stream's retry: value
 * @returns {number}
 */
export function reconnectDelay(failures, hint) {
    const base = hint !== null && hint > 0 ? hint : 1000;
    return Math.min(30000, base * 2 ** Math.max(0, failures));
}

/**
 * @typedef {object} StreamDeps
 * @property {typeof fetch} fetch
 * @property {(fn: () => void, ms: number) => any} setTimeout
 * @property {(t: any) => void} clearTimeout
 */

/**
 * Follows an event stream until closed: reconnects when it ends or fails,
 * sending Last-Event-ID so the server replays what was missed; gives up
 * (state "unavailable") when the server has no such stream (404) or will
 * not let the caller read it (401, 403).
 * @param {string} url
 * @param {{onEvent: (e: StreamEvent) => void, onState?: (s: StreamState) => void}} handlers
 * @param {StreamDeps} deps
 * @returns {() => void} closes the stream
 */
export function follow(url, handlers, deps) {
    const parser = new SSEParser();
    let closed = false;
    let failures = 0;
    /** @type {AbortController|null} */
    let ctl = null;
    /** @type {any} */
    let timer = null;
    const state = (/** @type {StreamState} */ s) => handlers.onState && handlers.onState(s);

    /** @param {number} ms */
    function again(ms) {
        if (closed) {
            return;
        }
        state('retrying');
        timer = deps.setTimeout(connect, ms);
    }

    async function connect() {
        timer = null;
        parser.restart();
        ctl = new AbortController();
        state('connecting');
        /** @type {Record<string, string>} */
        const headers = { Accept: 'text/event-stream' };
        if (parser.lastId) {
            headers['Last-Event-ID'] = parser.lastId;
        }
        let res;
        try {
            res = await deps.fetch(url, { headers, credentials: 'same-origin',
                                          cache: 'no-store', signal: ctl.signal });
        } catch {
            failures++;
            again(reconnectDelay(failures, parser.retry));
            return;
        }
        if (res.status === 404 || res.status === 401 || res.status === 403) {
            closed = true;
            state('unavailable');
            return;
        }
        if (!res.ok || !res.body) {
            failures++;
            again(retryAfter(res.headers.get('Retry-After'))
                  ?? reconnectDelay(failures, parser.retry));
            return;
        }
        state('open');
        const reader = res.body.getReader();
        const decoder = new TextDecoder();
        try {
            for (;;) {
                const { done, value } = await reader.read();
                if (done) {
                    break;
                }
                failures = 0;
                for (const ev of parser.feed(decoder.decode(value, { stream: true }))) {
                    handlers.onEvent(ev);
                }
            }
        } catch {
            failures++;
        }
        // the server ends streams after a while: pick up where it stopped
        again(reconnectDelay(failures, parser.retry));
    }

    connect();
    return () => {
        closed = true;
        if (timer !== null) {
            deps.clearTimeout(timer);
        }
        if (ctl) {
            ctl.abort();
        }
        state('closed');
    };
}
