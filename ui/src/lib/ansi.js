// @ts-check
// Terraform's coloured output (ANSI SGR sequences) as runs of text with
// CSS classes: no inline styles (the page's Content-Security-Policy allows
// none). Other escape sequences are dropped.

/** @typedef {{text: string, cls: string}} Segment */

/**
 * @typedef {object} Pen
 * @property {number|null} fg 0-15
 * @property {number|null} bg 0-15
 * @property {boolean} bold
 * @property {boolean} dim
 * @property {boolean} italic
 * @property {boolean} underline
 */

/** @returns {Pen} */
export function plainPen() {
    return { fg: null, bg: null, bold: false, dim: false, italic: false, underline: false };
}

/**
 * The pen after an SGR sequence's parameters.
 * @param {Pen} pen
 * @param {number[]} params
 * @returns {Pen}
 */
export function applySGR(pen, params) {
    const p = { ...pen };
    const list = params.length ? params : [0];

    for (let i = 0; i < list.length; i++) {
        const n = list[i];
        if (n === 0) {
            Object.assign(p, plainPen());
        } else if (n === 1) {
            p.bold = true;
        } else if (n === 2) {
            p.dim = true;
        } else if (n === 3) {
            p.italic = true;
        } else if (n === 4) {
            p.underline = true;
        } else if (n === 22) {
            p.bold = false;
            p.dim = false;
        } else if (n === 23) {
            p.italic = false;
        } else if (n === 24) {
            p.underline = false;
        } else if (n >= 30 && n <= 37) {
            p.fg = n - 30;
        } else if (n === 39) {
            p.fg = null;
        } else if (n >= 40 && n <= 47) {
            p.bg = n - 40;
        } else if (n === 49) {
            p.bg = null;
        } else if (n >= 90 && n <= 97) {
            p.fg = n - 90 + 8;
        } else if (n >= 100 && n <= 107) {
            p.bg = n - 100 + 8;
        } else if (n === 38 || n === 48) {
            // 256-colour and true-colour forms are skipped, not drawn
            i += list[i + 1] === 5 ? 2 : list[i + 1] === 2 ? 4 : 0;
        }
    }
    return p;
}

/**
 * @param {Pen} pen
 * @returns {string}
 */
export function penClass(pen) {
    const c = [];
    if (pen.fg !== null) c.push(`ansi-fg${pen.fg}`);
    if (pen.bg !== null) c.push(`ansi-bg${pen.bg}`);
    if (pen.bold) c.push('ansi-bold');
    if (pen.dim) c.push('ansi-dim');
    if (pen.italic) c.push('ansi-italic');
    if (pen.underline) c.push('ansi-underline');
    return c.join(' ');
}

// CSI sequences (ESC [ params final), other two-character escapes, and the
// C0 controls a log has no use for (tabs and newlines stay)
// eslint-disable-next-line no-control-regex
const ESCAPES = /\x1b\[([0-9;?]*)([@-~])|\x1b[@-Z\\-_]|[\x00-\x08\x0b-\x1a\x1c-\x1f\x7f]/g;

/**
 * One line of a log as segments, and the pen it leaves for the next line
 * (terraform opens a colour on one line and closes it on another).
 * @param {string} line
 * @param {Pen} pen
 * @returns {{segments: Segment[], pen: Pen}}
 */
export function renderLine(line, pen) {
    /** @type {Segment[]} */
    const segments = [];
    let at = 0;
    let m;

    /** @param {string} text */
    const push = (text) => {
        if (!text) {
            return;
        }
        const cls = penClass(pen);
        const last = segments[segments.length - 1];
        if (last && last.cls === cls) {
            last.text += text;
        } else {
            segments.push({ text, cls });
        }
    };
    ESCAPES.lastIndex = 0;
    while ((m = ESCAPES.exec(line)) !== null) {
        push(line.slice(at, m.index));
        at = m.index + m[0].length;
        if (m[2] === 'm') {
            pen = applySGR(pen, m[1].split(';').filter((s) => s !== '')
                .map((s) => Number(s)));
        }
    }
    push(line.slice(at));
    return { segments, pen };
}

/**
 * Lines of log text as segments (a trailing partial line included).
 * @param {string} text
 * @param {Pen} [start]
 * @returns {{lines: Segment[][], pen: Pen}}
 */
export function renderLog(text, start) {
    let pen = start || plainPen();
    const lines = [];
    for (const raw of text.split(/\r?\n/)) {
        const r = renderLine(raw, pen);
        lines.push(r.segments);
        pen = r.pen;
    }
    return { lines, pen };
}
