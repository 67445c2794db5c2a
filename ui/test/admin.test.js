// The logic behind the administration pages: platform roles, what forms
// send, the audit log's filters, which workspaces run on a pool, and what
// Swagger UI's calls carry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isAdmin } from '../src/lib/account.js';
import { parseLabels, labelsText, splitList, optionalInt } from '../src/lib/forms.js';
import { auditQuery, localToRFC3339 } from '../src/lib/audit.js';
import { assignedWorkspaces } from '../src/lib/pools.js';
import { withCSRF } from '../src/api-docs/openapi.js';

test('the platform admin role from account details', () => {
    const acct = (/** @type {any} */ a) => ({ attributes: a });
    assert.equal(isAdmin(acct({ 'is-admin': true })), true);
    assert.equal(isAdmin(acct({ 'is-audit': true })), false);
    assert.equal(isAdmin(null), false);
    assert.equal(isAdmin(acct({ 'is-admin': 'true' })), false);
});

test('labels and names as typed, and back', () => {
    assert.deepEqual(parseLabels(' env=dev , team = core,,solo'), { env: 'dev', team: 'core', solo: '' });
    assert.deepEqual(parseLabels(''), {});
    assert.deepEqual(parseLabels('url=a=b'), { url: 'a=b' });
    assert.equal(labelsText({ team: 'core', env: 'dev', solo: '' }), 'env=dev, solo, team=core');
    assert.equal(labelsText(null), '');
    assert.deepEqual(parseLabels(labelsText({ b: '2', a: '1' })), { a: '1', b: '2' });
    assert.deepEqual(splitList(' a, b,,c '), ['a', 'b', 'c']);
    assert.equal(optionalInt(''), undefined);
    assert.equal(optionalInt(' 12 '), 12);
});

test('the audit log page\'s address as the API\'s filters', () => {
    const q = auditQuery(new URLSearchParams('actor=a%40b.c&status=404&page=2&action=&resource-id=%20ws-1%20'));
    assert.deepEqual(q, { 'filter[actor]': 'a@b.c', 'filter[status]': '404', 'filter[resource-id]': 'ws-1' });
    const since = auditQuery(new URLSearchParams('since=2026-01-31T12:00'))['filter[since]'];
    assert.equal(since, new Date('2026-01-31T12:00').toISOString());
    assert.match(since, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    // what is no time goes as typed: the server's 400 names the filter
    assert.deepEqual(auditQuery(new URLSearchParams('until=yesterday')), { 'filter[until]': 'yesterday' });
    assert.equal(localToRFC3339(''), '');
});

test('the workspaces that run on a pool', () => {
    const ws = (/** @type {string} */ name, /** @type {string|null} */ pool, mode = 'agent') => ({
        attributes: { name, 'agent-pool-id': pool, 'execution-mode': mode } });
    const all = [ws('a', 'apool-1'), ws('b', null), ws('c', 'apool-2'), ws('d', null, 'local')];
    const names = (/** @type {any[]} */ l) => l.map((w) => w.attributes.name);
    assert.deepEqual(names(assignedWorkspaces({ id: 'apool-1', attributes: { name: 'build' } }, all)), ['a']);
    assert.deepEqual(names(assignedWorkspaces({ id: 'apool-9', attributes: { name: 'default' } }, all)), ['b']);
});

test('Swagger UI calls: same-origin credentials, CSRF on unsafe methods only', () => {
    assert.deepEqual(withCSRF({ method: 'GET', headers: {} }, 'tok'),
        { method: 'GET', headers: {}, credentials: 'same-origin' });
    assert.deepEqual(withCSRF({ method: 'head' }, 'tok'), { method: 'head', credentials: 'same-origin' });
    for (const method of ['POST', 'patch', 'PUT', 'DELETE']) {
        assert.deepEqual(withCSRF({ method, headers: { Accept: 'x' } }, 'tok'),
            { method, headers: { Accept: 'x', 'X-CSRF-Token': 'tok' }, credentials: 'same-origin' });
    }
    // without a session there is no token to send
    assert.deepEqual(withCSRF({ method: 'POST', headers: {} }, ''),
        { method: 'POST', headers: {}, credentials: 'same-origin' });
});
