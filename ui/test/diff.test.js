import { test } from 'node:test';
import assert from 'node:assert/strict';
import { diffLines, hunks, sideBySide } from '../src/lib/diff.js';

/** The edit script as a string: " a -b +c" */
const script = (edits) => edits.map((e) => e.op + e.text).join(' ');
/** What the script turns into, from either side. */
const side = (edits, drop) => edits.filter((e) => e.op !== drop).map((e) => e.text);

test('a line diff keeps the common lines and marks the rest', () => {
    assert.equal(script(diffLines(['a', 'b', 'c'], ['a', 'x', 'c'])), ' a -b +x  c');
    assert.equal(script(diffLines([], ['x'])), '+x');
    assert.equal(script(diffLines(['x'], [])), '-x');
    assert.equal(script(diffLines([], [])), '');
    assert.equal(script(diffLines(['a', 'b'], ['a', 'b'])), ' a  b');
});

test('the line diff is a shortest edit script that rebuilds both sides', () => {
    const a = 'abcabba'.split('');
    const b = 'cbabac'.split('');
    const edits = diffLines(a, b);
    assert.deepEqual(side(edits, '+'), a);
    assert.deepEqual(side(edits, '-'), b);
    // the classic example needs five edits, no more
    assert.equal(edits.filter((e) => e.op !== ' ').length, 5);
});

test('random pairs are rebuilt exactly', () => {
    let seed = 7;
    const rnd = (n) => {
        seed = (seed * 1103515245 + 12345) % 2147483648;
        return seed % n;
    };
    for (let round = 0; round < 200; round++) {
        const a = Array.from({ length: rnd(30) }, () => String(rnd(5)));
        const b = Array.from({ length: rnd(30) }, () => String(rnd(5)));
        const edits = diffLines(a, b);
        assert.deepEqual(side(edits, '+'), a);
        assert.deepEqual(side(edits, '-'), b);
    }
});

test('past the bound, the changed middle is one replacement', () => {
    const edits = diffLines(['h', '1', '2', '3', 't'], ['h', '4', '5', '6', 't'], 2);
    assert.equal(script(edits), ' h -1 -2 -3 +4 +5 +6  t');
});

test('hunks keep context around changes and number both sides', () => {
    const a = 'abcdefghijk'.split('');
    const b = 'abXdefghijkY'.split('');
    const hs = hunks(diffLines(a, b), 1);
    assert.equal(hs.length, 2);
    assert.deepEqual(hs[0].map((l) => [l.op, l.text, l.oldNo, l.newNo]),
        [[' ', 'b', 2, 2], ['-', 'c', 3, null], ['+', 'X', null, 3], [' ', 'd', 4, 4]]);
    assert.deepEqual(hs[1].map((l) => [l.op, l.text, l.oldNo, l.newNo]),
        [[' ', 'k', 11, 11], ['+', 'Y', null, 12]]);
    // changes closer than twice the context share a hunk
    assert.equal(hunks(diffLines(a, 'aXcdXfghijk'.split('')), 1).length, 1);
    assert.deepEqual(hunks(diffLines(a, a)), []);
});

test('a unified diff side by side', () => {
    const rows = sideBySide([
        '@@ -1,4 +1,4 @@',
        ' keep',
        '-old 1',
        '-old 2',
        '+new 1',
        ' tail',
        '@@ -10,2 +10,3 @@',
        ' x',
        '+added',
        '+more',
        '-last',
        '\\ No newline at end of file',
    ].join('\n'));
    const show = (c) => (c ? `${c.kind}${c.no}:${c.text}${c.noEol ? '$' : ''}` : '-');
    assert.deepEqual(rows.map((r) => ('header' in r ? r.header : `${show(r.left)} | ${show(r.right)}`)), [
        '@@ -1,4 +1,4 @@',
        ' 1:keep |  1:keep',
        '-2:old 1 | +2:new 1',
        '-3:old 2 | -',
        ' 4:tail |  3:tail',
        '@@ -10,2 +10,3 @@',
        ' 10:x |  10:x',
        '-11:last$ | +11:added',
        '- | +12:more',
    ]);
});

test('the end-of-file marker after a context line marks both sides', () => {
    const rows = sideBySide('@@ -1 +1,2 @@\n+first\n same\n\\ No newline at end of file');
    const last = rows[rows.length - 1];
    assert.ok('left' in last && last.left && last.right);
    assert.equal(last.left.noEol, true);
    assert.equal(last.right.noEol, true);
});
