import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lockText, statusLabel, statusKind, bytes, labelList, labelQuery, isFinal } from '../src/lib/format.js';

test('the lock in words: who holds it and why', () => {
    assert.equal(lockText({ locked: false, 'locked-by': 'a@b' }), '');
    assert.equal(lockText({ locked: true, 'locked-by': 'ana@example.com', 'lock-reason': 'maintenance' }),
        'Locked by ana@example.com — maintenance');
    assert.equal(lockText({ locked: true, 'locked-by': 'run-abc', 'lock-reason': '' }), 'Locked by run-abc');
});

test('statuses for people', () => {
    assert.equal(statusLabel('planned_and_finished'), 'Planned and finished');
    assert.equal(statusKind('applied'), 'ok');
    assert.equal(statusKind('errored'), 'bad');
    assert.equal(statusKind('planned'), 'wait');
    assert.equal(statusKind('applying'), 'busy');
    assert.equal(statusKind('discarded'), 'done');
    assert.equal(isFinal('applied'), true);
    assert.equal(isFinal('planned'), false);
});

test('bytes', () => {
    assert.equal(bytes(512), '512 B');
    assert.equal(bytes(1536), '1.5 KiB');
    assert.equal(bytes(3 * 1024 * 1024 * 1024), '3.0 GiB');
    assert.equal(bytes(null), '');
});

test('labels shown and typed as a filter', () => {
    assert.deepEqual(labelList({ team: 'core', pci: '' }), ['pci', 'team=core']);
    assert.deepEqual(labelQuery('team=core, pci'), {
        'filter[tagged][0][key]': 'team', 'filter[tagged][0][value]': 'core',
        'filter[tagged][1][key]': 'pci',
    });
    assert.deepEqual(labelQuery(' '), {});
});
