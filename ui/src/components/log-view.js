// @ts-check
// A phase log (plan or apply): read as it grows, terraform's colours drawn
// with CSS classes, and only the lines in view put in the page, so a log of
// a hundred thousand lines scrolls as lightly as one of ten.
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { html } from '../lib/html.js';
import { renderLine, plainPen } from '../lib/ansi.js';
import { newCursor, nextRead, consume } from '../lib/logs.js';
import { useInterval } from '../lib/hooks.js';

/** Pixels per line: the style sheet's .log-line height. */
const LINE = 20;
/** Lines drawn beyond the visible ones, above and below. */
const OVERSCAN = 30;
/** Bytes per read. */
const CHUNK = 256 * 1024;

/**
 * The path and query of an address.
 * @param {string} url
 */
function localPath(url) {
    const u = new URL(url, location.href);
    return u.pathname + u.search;
}

/**
 * The lines of a log so far, kept outside the component's state: a log
 * only grows, and copying it on every read would cost more than drawing.
 */
class LogLines {
    constructor() {
        /** @type {import('../lib/ansi.js').Segment[][]} */
        this.lines = [];
        this.pen = plainPen();
        this.tail = '';
    }

    /** @param {string} text */
    add(text) {
        const parts = (this.tail + text).split(/\r?\n/);
        this.tail = parts.pop() || '';
        for (const raw of parts) {
            const r = renderLine(raw, this.pen);
            this.lines.push(r.segments);
            this.pen = r.pen;
        }
    }

    get count() {
        return this.lines.length + (this.tail ? 1 : 0);
    }

    /** @param {number} i */
    line(i) {
        return i < this.lines.length ? this.lines[i] : renderLine(this.tail, this.pen).segments;
    }
}

/**
 * @param {{label: string, url: string|null, phaseId: string, running: boolean,
 *   poll: boolean, tick: number}} props
 * url: the phase's log-read-url (null while it has none); running: the
 * phase may still write; poll: read every 2 s (no live events); tick:
 * changes when an event says the log grew.
 */
export function PhaseLog({ label, url: given, phaseId, running, poll, tick }) {
    // read from this origin whatever host the server named (behind a proxy
    // it may name itself differently)
    const url = given ? localPath(given) : null;
    const log = useRef(new LogLines());
    const cursor = useRef(newCursor());
    const urlRef = useRef(url);
    const busy = useRef(false);
    const again = useRef(false);
    const [, setVersion] = useState(0);
    const [error, setError] = useState('');
    urlRef.current = url;

    useEffect(() => {
        log.current = new LogLines();
        cursor.current = newCursor();
        setVersion((v) => v + 1);
    }, [phaseId]);

    async function pull() {
        if (busy.current) {
            again.current = true;
            return;
        }
        busy.current = true;
        try {
            do {
                again.current = false;
                for (;;) {
                    const c = cursor.current;
                    if (c.done || !urlRef.current) {
                        break;
                    }
                    const res = await fetch(nextRead(urlRef.current, c, CHUNK),
                                            { credentials: 'omit', cache: 'no-store' });
                    if (!res.ok) {
                        throw new Error(res.status === 410
                            ? 'the log was removed by retention'
                            : `the log could not be read (${res.status})`);
                    }
                    const bytes = new Uint8Array(await res.arrayBuffer());
                    const text = consume(c, bytes);
                    if (text) {
                        log.current.add(text);
                        setVersion((v) => v + 1);
                    }
                    if (bytes.length < CHUNK) {
                        break;
                    }
                }
            } while (again.current);
            setError('');
        } catch (e) {
            setError(e instanceof Error ? e.message : String(e));
        } finally {
            busy.current = false;
        }
    }

    useEffect(() => {
        pull();
    }, [url, tick, running, phaseId]);
    useInterval(pull, 2000, poll && running && !cursor.current.done);

    return html`<section class="phase-log" aria-label=${label}>
        <h3>${label}</h3>
        ${error && html`<p class="error" role="alert">${error}</p>`}
        ${log.current.count === 0
            ? html`<p class="muted">${running ? 'Waiting for output…' : 'No output.'}</p>`
            : html`<${LogView} lines=${log.current} follow=${running} label=${label} />`}
        ${url && html`<p><a href=${url} download>Raw log</a></p>`}
    </section>`;
}

/**
 * @param {{lines: LogLines, follow: boolean, label: string}} props
 */
function LogView({ lines, follow, label }) {
    const box = useRef(/** @type {HTMLDivElement|null} */ (null));
    const [top, setTop] = useState(0);
    const [height, setHeight] = useState(600);
    const stick = useRef(follow);
    const count = lines.count;

    useLayoutEffect(() => {
        const el = box.current;
        if (!el) {
            return;
        }
        setHeight(el.clientHeight || 600);
        if (stick.current) {
            el.scrollTop = el.scrollHeight;
        }
    });

    const first = Math.max(0, Math.floor(top / LINE) - OVERSCAN);
    const last = Math.min(count, Math.ceil((top + height) / LINE) + OVERSCAN);
    const rows = [];
    for (let i = first; i < last; i++) {
        rows.push(html`<div class="log-line" key=${i}>${lines.line(i).map((s) => (s.cls
            ? html`<span class=${s.cls}>${s.text}</span>` : s.text))}</div>`);
    }
    return html`<div class="log" ref=${box} tabindex="0" role="region"
        aria-label=${`${label} output, ${count} lines`}
        onScroll=${(/** @type {any} */ e) => {
            const el = e.currentTarget;
            setTop(el.scrollTop);
            stick.current = el.scrollTop + el.clientHeight >= el.scrollHeight - LINE;
        }}>
        <div style=${{ height: `${first * LINE}px` }}></div>
        ${rows}
        <div style=${{ height: `${(count - last) * LINE}px` }}></div>
    </div>`;
}
