// @ts-check
// Diffs the workspace tabs show. State versions: the API has no diff of
// them, so the state tab compares two downloads line by line here (Myers'
// algorithm on what is left once the common head and tail are set aside;
// past a bound on the edit distance the changed middle is one replacement,
// so two unrelated large states cannot hang the page). Configuration
// versions: the server's unified diffs, laid out side by side.

/**
 * @typedef {{op: ' ' | '-' | '+', text: string}} Edit
 * @typedef {Edit & {oldNo: number|null, newNo: number|null}} NumberedEdit
 * @typedef {{no: number, text: string, kind: ' ' | '-' | '+', noEol?: boolean}} Cell
 * @typedef {{header: string} | {left: Cell | null, right: Cell | null}} Row
 */

export const MAX_EDITS = 1000;

/**
 * The shortest edit script turning a into b, or null past max edits.
 * @param {string[]} a
 * @param {string[]} b
 * @param {number} max
 * @returns {Edit[] | null}
 */
function myers(a, b, max) {
    const off = max + 1;
    const v = new Int32Array(2 * max + 3);
    /** @type {Int32Array[]} the frontier before each round, to walk back */
    const trace = [];

    for (let d = 0; d <= max; d++) {
        trace.push(v.slice());
        for (let k = -d; k <= d; k += 2) {
            const down = k === -d || (k !== d && v[off + k - 1] < v[off + k + 1]);
            let x = down ? v[off + k + 1] : v[off + k - 1] + 1;
            let y = x - k;
            while (x < a.length && y < b.length && a[x] === b[y]) {
                x++;
                y++;
            }
            v[off + k] = x;
            if (x >= a.length && y >= b.length) {
                return backtrack(a, b, trace, k, off);
            }
        }
    }
    return null;
}

/**
 * Walks the saved frontiers back from the end of both to their start.
 * @param {string[]} a
 * @param {string[]} b
 * @param {Int32Array[]} trace
 * @param {number} k the diagonal the end was reached on
 * @param {number} off
 * @returns {Edit[]}
 */
function backtrack(a, b, trace, k, off) {
    /** @type {Edit[]} */
    const out = [];
    let x = a.length;
    let y = b.length;

    for (let d = trace.length - 1; d > 0; d--) {
        const v = trace[d];
        const down = k === -d || (k !== d && v[off + k - 1] < v[off + k + 1]);
        const pk = down ? k + 1 : k - 1;
        const px = v[off + pk];
        // the snake after this round's edit, then the edit itself
        while (x > px + (down ? 0 : 1) && y > px - pk + (down ? 1 : 0)) {
            out.push({ op: ' ', text: a[--x] });
            y--;
        }
        if (down) {
            out.push({ op: '+', text: b[--y] });
        } else {
            out.push({ op: '-', text: a[--x] });
        }
        k = pk;
    }
    while (x > 0) {
        out.push({ op: ' ', text: a[--x] });
    }
    return out.reverse();
}

/**
 * Every line of a and b in order, each the same, removed or added.
 * @param {string[]} a
 * @param {string[]} b
 * @param {number} [max] edits past which the changed middle is replaced whole
 * @returns {Edit[]}
 */
export function diffLines(a, b, max = MAX_EDITS) {
    let head = 0;
    let tail = 0;
    while (head < a.length && head < b.length && a[head] === b[head]) {
        head++;
    }
    while (tail < a.length - head && tail < b.length - head
           && a[a.length - 1 - tail] === b[b.length - 1 - tail]) {
        tail++;
    }
    const midA = a.slice(head, a.length - tail);
    const midB = b.slice(head, b.length - tail);
    /** @type {(op: ' ' | '-' | '+') => (text: string) => Edit} */
    const as = (op) => (text) => ({ op, text });
    const middle = myers(midA, midB, max)
        || [...midA.map(as('-')), ...midB.map(as('+'))];
    return [...a.slice(0, head).map(as(' ')), ...middle,
        ...a.slice(a.length - tail).map(as(' '))];
}

/**
 * The changes with `context` unchanged lines around each, grouped in
 * hunks; each line carries its number on either side (null where absent).
 * @param {Edit[]} edits
 * @param {number} [context]
 * @returns {NumberedEdit[][]}
 */
export function hunks(edits, context = 3) {
    const keep = new Uint8Array(edits.length);
    let oldNo = 1;
    let newNo = 1;
    const numbered = edits.map((e, i) => {
        if (e.op !== ' ') {
            keep.fill(1, Math.max(0, i - context), i + context + 1);
        }
        const line = { ...e, oldNo: e.op === '+' ? null : oldNo, newNo: e.op === '-' ? null : newNo };
        if (e.op !== '+') oldNo++;
        if (e.op !== '-') newNo++;
        return line;
    });
    /** @type {NumberedEdit[][]} */
    const out = [];
    numbered.forEach((line, i) => {
        if (!keep[i]) {
            return;
        }
        if (i === 0 || !keep[i - 1]) {
            out.push([]);
        }
        out[out.length - 1].push(line);
    });
    return out;
}

const HUNK = /^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@/;

/**
 * The rows of a unified diff (hunks headed by their line ranges, no file
 * headers) side by side: a run of removed lines faces the run of added lines after
 * it, row by row; "\ No newline at end of file" marks the line before it.
 * @param {string} diff
 * @returns {Row[]}
 */
export function sideBySide(diff) {
    /** @type {Row[]} */
    const rows = [];
    /** @type {Cell[]} */
    let dels = [];
    /** @type {Cell[]} */
    let adds = [];
    /** @type {Cell[]} the cells of the line before, for the marker */
    let last = [];
    let oldNo = 0;
    let newNo = 0;

    const flush = () => {
        for (let i = 0; i < Math.max(dels.length, adds.length); i++) {
            rows.push({ left: dels[i] || null, right: adds[i] || null });
        }
        dels = [];
        adds = [];
    };
    for (const line of diff.split('\n')) {
        const h = HUNK.exec(line);
        const text = line.slice(1);
        if (h) {
            flush();
            rows.push({ header: line });
            oldNo = Number(h[1]);
            newNo = Number(h[2]);
            last = [];
        } else if (line.startsWith('\\')) {
            last.forEach((c) => { c.noEol = true; });
        } else if (line.startsWith('-')) {
            last = [{ no: oldNo++, text, kind: '-' }];
            dels.push(last[0]);
        } else if (line.startsWith('+')) {
            last = [{ no: newNo++, text, kind: '+' }];
            adds.push(last[0]);
        } else if (line.startsWith(' ')) {
            flush();
            last = [{ no: oldNo++, text, kind: ' ' }, { no: newNo++, text, kind: ' ' }];
            rows.push({ left: last[0], right: last[1] });
        }
    }
    flush();
    return rows;
}
