import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createClient, cookieValue, withQuery, errorMessage, includedIndex, related, ApiError,
    rateLimitWait } from '../src/lib/api.js';

/** A fetch that records its calls and answers from a list. */
function fakeFetch(answers) {
    const calls = [];
    const fn = async (url, init) => {
        calls.push({ url, init });
        const a = answers.shift();
        return {
            status: a.status,
            ok: a.status >= 200 && a.status < 300,
            headers: { get: (name) => (a.headers || {})[name] ?? null },
            text: async () => (a.body === undefined ? '' : JSON.stringify(a.body)),
        };
    };
    return { fn, calls };
}

function client(answers, cookies = '') {
    const f = fakeFetch(answers);
    let unauthorized = 0;
    const waits = [];
    const c = createClient({ fetch: f.fn, cookies: () => cookies, unauthorized: () => unauthorized++,
                             sleep: async (ms) => { waits.push(ms); } });
    return { c, calls: f.calls, unauthorized: () => unauthorized, waits };
}

test('cookie values are found among others and decoded', () => {
    assert.equal(cookieValue('a=1; terrapod_csrf=x%2By; b=2', 'terrapod_csrf'), 'x+y');
    assert.equal(cookieValue('terrapod_csrf_old=1', 'terrapod_csrf'), '');
    assert.equal(cookieValue('', 'terrapod_csrf'), '');
});

test('queries leave empty values out and encode brackets', () => {
    assert.equal(withQuery('/x', { 'search[name]': 'a b', label: '', n: null, page: 2 }),
        '/x?search%5Bname%5D=a%20b&page=2');
    assert.equal(withQuery('/x?y=1', { z: 2 }), '/x?y=1&z=2');
    assert.equal(withQuery('/x', {}), '/x');
});

test('GETs carry no CSRF header; other methods carry the cookie\'s value', async () => {
    const { c, calls } = client([{ status: 200, body: { data: [] } }, { status: 204 }],
        'terrapod_csrf=tok123');
    await c.get('/api/v2/x');
    const res = await c.post('/api/v2/y', { data: {} });
    assert.equal(res, null);
    assert.equal(calls[0].init.headers['X-CSRF-Token'], undefined);
    assert.equal(calls[0].init.credentials, 'same-origin');
    assert.equal(calls[1].init.headers['X-CSRF-Token'], 'tok123');
    assert.equal(calls[1].init.headers['Content-Type'], 'application/vnd.api+json');
    assert.equal(calls[1].init.body, '{"data":{}}');
});

test('a 401 ends the session and fails the call', async () => {
    const { c, unauthorized } = client([{ status: 401, body: { errors: [{ detail: 'no session' }] } }]);
    await assert.rejects(c.get('/api/v2/x'), (e) => e instanceof ApiError && e.status === 401);
    assert.equal(unauthorized(), 1);
});

test('errors carry the server\'s details', async () => {
    const { c, unauthorized } = client([{ status: 409, body: { errors: [
        { status: '409', title: 'Conflict', detail: 'workspace is locked' }] } }]);
    await assert.rejects(c.post('/api/v2/x'), { status: 409, message: 'workspace is locked' });
    assert.equal(unauthorized(), 0);
    assert.equal(errorMessage(502, null), 'the server answered 502');
    assert.equal(errorMessage(400, { errors: [{ title: 'Bad' }, { detail: 'worse' }] }), 'Bad; worse');
});

test('lists ask for a page and return its pagination and included documents', async () => {
    const { c, calls } = client([{ status: 200, body: {
        data: [{ id: 'ws-1', type: 'workspaces',
                 relationships: { 'current-run': { data: { id: 'run-1', type: 'runs' } } } }],
        included: [{ id: 'run-1', type: 'runs', attributes: { status: 'applied' } }],
        meta: { pagination: { 'current-page': 3, 'total-pages': 4, 'total-count': 70,
                              'prev-page': 2, 'next-page': 4 } },
    } }]);
    const page = await c.list('/api/v2/organizations/default/workspaces', 3, 20, { 'search[name]': 'a' });
    assert.match(calls[0].url, /page%5Bnumber%5D=3&page%5Bsize%5D=20/);
    assert.match(calls[0].url, /search%5Bname%5D=a/);
    assert.equal(page.pagination['total-count'], 70);
    assert.equal(related(page.included, page.data[0], 'current-run').attributes.status, 'applied');
    assert.equal(related(page.included, page.data[0], 'latest-run'), undefined);
});

test('included documents are indexed by type and id', () => {
    const idx = includedIndex({ data: null, included: [{ id: '1', type: 'a' }, { id: '1', type: 'b' }] });
    assert.equal(idx.size, 2);
    assert.equal(includedIndex({ data: null }).size, 0);
});

test('a rate-limited call waits as Retry-After says and is sent again', async () => {
    const { c, calls, waits } = client([
        { status: 429, headers: { 'Retry-After': '2' }, body: { errors: [{ status: '429' }] } },
        { status: 429, body: { errors: [{ status: '429' }] } },
        { status: 201, body: { data: { id: 'ws-1' } } },
    ], 'terrapod_csrf=t');
    const doc = await c.post('/api/v2/x', { data: {} });
    assert.equal(doc.data.id, 'ws-1');
    assert.equal(calls.length, 3);
    assert.deepEqual(waits, [2000, 1000]);
    assert.equal(calls[2].init.headers['X-CSRF-Token'], 't');
});

test('a call still refused after its tries shows the 429', async () => {
    const refused = { status: 429, headers: { 'Retry-After': '600' }, body: { errors: [{ detail: 'slow down' }] } };
    const { c, calls, waits } = client([refused, refused, refused, refused, refused]);
    await assert.rejects(c.get('/api/v2/x'), (e) => e instanceof ApiError && e.status === 429);
    assert.equal(calls.length, 4);
    assert.deepEqual(waits, [10000, 10000, 10000]);
    assert.equal(rateLimitWait({ headers: { get: () => 'soon' } }), 1000);
});
