import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderLine, renderLog, plainPen, applySGR, penClass } from '../src/lib/ansi.js';

test('colours and bold become classes; resets end them', () => {
    const { segments } = renderLine('\x1b[1m\x1b[32mPlan:\x1b[0m 1 to add', plainPen());
    assert.deepEqual(segments, [
        { text: 'Plan:', cls: 'ansi-fg2 ansi-bold' },
        { text: ' 1 to add', cls: '' },
    ]);
});

test('a colour opened on one line carries to the next', () => {
    const { lines } = renderLog('\x1b[31mError: one\ntwo\x1b[39m three');
    assert.deepEqual(lines[1], [{ text: 'two', cls: 'ansi-fg1' }, { text: ' three', cls: '' }]);
});

test('bright colours, backgrounds and partial resets', () => {
    let pen = applySGR(plainPen(), [93, 44, 4]);
    assert.equal(penClass(pen), 'ansi-fg11 ansi-bg4 ansi-underline');
    pen = applySGR(pen, [24, 49, 39]);
    assert.equal(penClass(pen), '');
    pen = applySGR(applySGR(plainPen(), [1, 2]), [22]);
    assert.equal(penClass(pen), '');
});

test('256-colour and true-colour forms are skipped without misreading their numbers', () => {
    const pen = applySGR(plainPen(), [38, 5, 196, 1, 48, 2, 10, 20, 30, 4]);
    assert.equal(penClass(pen), 'ansi-bold ansi-underline');
});

test('other escapes and control characters are dropped; text is kept verbatim', () => {
    const { segments } = renderLine('a\x1b[2Kb\x1b[?25lc\x07d <b>&', plainPen());
    assert.deepEqual(segments, [{ text: 'abcd <b>&', cls: '' }]);
});

test('a log without escapes is its lines', () => {
    const { lines } = renderLog('one\r\ntwo\n');
    assert.deepEqual(lines.map((l) => l.map((s) => s.text).join('')), ['one', 'two', '']);
});
