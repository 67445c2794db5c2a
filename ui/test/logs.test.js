import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newCursor, nextRead, consume } from '../src/lib/logs.js';

const bytes = (...parts) => Uint8Array.from(parts.flatMap((p) => (typeof p === 'number'
    ? [p] : [...new TextEncoder().encode(p)])));

test('reads follow each other from the offset, the STX counted', () => {
    const c = newCursor();
    assert.equal(nextRead('https://h/api/v2/plans/p/logs/cap', c, 65536),
        'https://h/api/v2/plans/p/logs/cap?offset=0&limit=65536');
    assert.equal(consume(c, bytes(2, 'Plan: 1 to add\n')), 'Plan: 1 to add\n');
    assert.equal(c.offset, 16);
    assert.equal(c.done, false);
    assert.equal(consume(c, bytes('more')), 'more');
    assert.equal(nextRead('https://h/x?sig=1', c, 10), 'https://h/x?sig=1&offset=20&limit=10');
});

test('the ETX ends the log', () => {
    const c = newCursor();
    assert.equal(consume(c, bytes(2, 'done', 3)), 'done');
    assert.equal(c.done, true);
    const e = newCursor();
    consume(e, bytes(2));
    assert.equal(consume(e, bytes(3)), '');
    assert.equal(e.done, true);
});

test('an empty read changes nothing', () => {
    const c = newCursor();
    assert.equal(consume(c, bytes()), '');
    assert.equal(c.offset, 0);
});

test('a character cut between two reads is kept whole', () => {
    const c = newCursor();
    const all = bytes(2, 'é—ok');
    assert.equal(consume(c, all.subarray(0, 2)), '');
    assert.equal(consume(c, all.subarray(2, 4)), 'é');
    assert.equal(consume(c, all.subarray(4)), '—ok');
});
