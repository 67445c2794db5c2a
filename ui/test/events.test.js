import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SSEParser, reconnectDelay, follow } from '../src/lib/events.js';
import { retryAfter } from '../src/lib/api.js';

test('frames are parsed as they arrive, in any pieces', () => {
    const p = new SSEParser();
    const stream = 'retry: 2500\n: keepalive\n\nid: 7\nevent: run_status_change\n'
        + 'data: {"event":"run_status_change","id":"7","workspace_id":"ws-1","status":"applied"}\n\n'
        + 'id: 8\r\nevent: workspace_lock_change\r\ndata: {"locked":true}\r\n\r\n';
    const out = [];
    for (let i = 0; i < stream.length; i += 5) {
        out.push(...p.feed(stream.slice(i, i + 5)));
    }
    assert.equal(p.retry, 2500);
    assert.deepEqual(out.map((e) => [e.id, e.event]), [['7', 'run_status_change'], ['8', 'workspace_lock_change']]);
    assert.equal(out[0].data.status, 'applied');
    assert.equal(out[1].data.locked, true);
    assert.equal(p.lastId, '8');
});

test('comments and empty frames dispatch nothing; multi-line data is joined', () => {
    const p = new SSEParser();
    assert.deepEqual(p.feed(': keepalive\n\n\n'), []);
    const [e] = p.feed('data: a\ndata: b\n\n');
    assert.equal(e.event, 'message');
    assert.equal(e.data, 'a\nb');
});

test('a new connection drops a half-read frame but keeps the last id', () => {
    const p = new SSEParser();
    p.feed('id: 3\ndata: {"a":1}\n\nid: 4\ndata: {"half"');
    p.restart();
    assert.equal(p.lastId, '3');
    const [e] = p.feed('id: 5\ndata: {"b":2}\n\n');
    assert.deepEqual(e.data, { b: 2 });
});

test('reconnecting backs off from the server\'s hint, up to 30 s', () => {
    assert.equal(reconnectDelay(0, null), 1000);
    assert.equal(reconnectDelay(0, 3000), 3000);
    assert.equal(reconnectDelay(2, 1000), 4000);
    assert.equal(reconnectDelay(20, 1000), 30000);
    assert.equal(retryAfter('7'), 7000);
    assert.equal(retryAfter(null), null);
    assert.equal(retryAfter('Wed, 21 Oct 2015 07:28:00 GMT'), null);
});

/** A Response-like answer whose body yields the chunks, then ends. */
function answer(status, chunks = [], headers = {}) {
    const enc = new TextEncoder();
    let i = 0;
    return {
        status,
        ok: status >= 200 && status < 300,
        headers: { get: (h) => headers[h] ?? null },
        body: {
            getReader: () => ({
                read: async () => (i < chunks.length
                    ? { done: false, value: enc.encode(chunks[i++]) }
                    : { done: true, value: undefined }),
            }),
        },
    };
}

/** Runs follow() with fetch answering from a list and timers run by hand. */
function harness(answers) {
    const calls = [];
    const timers = [];
    const events = [];
    const states = [];
    const close = follow('/events', {
        onEvent: (e) => events.push(e),
        onState: (s) => states.push(s),
    }, {
        fetch: async (url, init) => {
            calls.push(init.headers);
            const a = answers.shift();
            if (a instanceof Error) throw a;
            return a;
        },
        setTimeout: (fn, ms) => { timers.push({ fn, ms }); return timers.length; },
        clearTimeout: () => {},
    });
    const settle = () => new Promise((r) => setTimeout(r, 10));
    return { calls, timers, events, states, close, settle };
}

test('an ended stream is resumed with Last-Event-ID after the retry hint', async () => {
    const h = harness([
        answer(200, ['retry: 1500\n\nid: 41\nevent: log_updated\ndata: {"size":10}\n\n']),
        answer(200, ['id: 42\nevent: log_updated\ndata: {"size":20}\n\n']),
    ]);
    await h.settle();
    assert.equal(h.events.length, 1);
    assert.equal(h.timers.length, 1);
    assert.equal(h.timers[0].ms, 1500);
    assert.equal(h.calls[0]['Last-Event-ID'], undefined);
    h.timers[0].fn();
    await h.settle();
    assert.equal(h.calls[1]['Last-Event-ID'], '41');
    assert.deepEqual(h.events.map((e) => e.id), ['41', '42']);
    h.close();
    assert.equal(h.states.at(-1), 'closed');
});

test('a server without the stream (404) is not asked again', async () => {
    const h = harness([answer(404)]);
    await h.settle();
    assert.deepEqual(h.states, ['connecting', 'unavailable']);
    assert.equal(h.timers.length, 0);
});

test('a 503 waits as long as Retry-After says; failures back off', async () => {
    const h = harness([answer(503, [], { 'Retry-After': '4' }), new Error('offline'), answer(200, [])]);
    await h.settle();
    assert.equal(h.timers[0].ms, 4000);
    h.timers[0].fn();
    await h.settle();
    assert.equal(h.timers[1].ms, 4000, 'second failure in a row: 1 s doubled twice');
    h.timers[1].fn();
    await h.settle();
    assert.ok(h.states.includes('open'));
    h.close();
});
