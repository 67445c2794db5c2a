import { test } from 'node:test';
import assert from 'node:assert/strict';
import { can, lockActions, runActions } from '../src/lib/perms.js';

const ws = (attrs, perms) => ({ attributes: { ...attrs, permissions: perms } });

test('only a permission the API grants with true counts', () => {
    assert.equal(can(ws({}, { 'can-lock': true }), 'can-lock'), true);
    assert.equal(can(ws({}, { 'can-lock': false }), 'can-lock'), false);
    assert.equal(can(ws({}, { 'can-lock': 'yes' }), 'can-lock'), false);
    assert.equal(can(ws({}, undefined), 'can-lock'), false);
    assert.equal(can(null, 'can-lock'), false);
});

test('lock controls follow the lock and the permissions', () => {
    const all = { 'can-lock': true, 'can-unlock': true, 'can-force-unlock': true };
    assert.deepEqual(lockActions(ws({ locked: false }, all)), ['lock']);
    assert.deepEqual(lockActions(ws({ locked: true }, all)), ['unlock', 'force-unlock']);
    assert.deepEqual(lockActions(ws({ locked: true }, { 'can-unlock': true })), ['unlock']);
    assert.deepEqual(lockActions(ws({ locked: false }, {})), []);
    assert.deepEqual(lockActions(ws({ locked: true }, {})), []);
});

test('a run offers what it allows now and its reader may do', () => {
    const run = (actions, permissions) => ({ attributes: { actions, permissions } });
    const allowed = { 'is-confirmable': true, 'is-discardable': true, 'is-cancelable': false,
                      'is-force-cancelable': false };
    const writer = { 'can-apply': true, 'can-discard': true, 'can-cancel': true, 'can-force-cancel': false };
    assert.deepEqual(runActions(run(allowed, writer)).map((a) => a.action), ['apply', 'discard']);
    assert.deepEqual(runActions(run(allowed, { 'can-cancel': true })).map((a) => a.action), []);
    assert.deepEqual(runActions(run({ 'is-cancelable': true, 'is-force-cancelable': true },
        { 'can-cancel': true, 'can-force-cancel': true })).map((a) => a.action),
    ['cancel', 'force-cancel']);
    assert.deepEqual(runActions({ attributes: {} }), []);
});
