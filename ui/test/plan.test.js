import { test } from 'node:test';
import assert from 'node:assert/strict';
import { changeKind, plannedChanges, changeCounts } from '../src/lib/plan.js';

test('actions become add, change, destroy, replace, import and read', () => {
    assert.equal(changeKind({ actions: ['create'] }), 'add');
    assert.equal(changeKind({ actions: ['update'] }), 'change');
    assert.equal(changeKind({ actions: ['delete'] }), 'destroy');
    assert.equal(changeKind({ actions: ['delete', 'create'] }), 'replace');
    assert.equal(changeKind({ actions: ['create', 'delete'] }), 'replace');
    assert.equal(changeKind({ actions: ['read'] }), 'read');
    assert.equal(changeKind({ actions: ['no-op'], importing: { id: 'i-1' } }), 'import');
    assert.equal(changeKind({ actions: ['no-op'] }), null);
});

test('a plan\'s changes in order, no-ops left out, and counted', () => {
    const changes = plannedChanges({ resource_changes: [
        { address: 'a.x', change: { actions: ['create'] } },
        { address: 'a.y', change: { actions: ['no-op'] } },
        { address: 'a.z', change: { actions: ['delete', 'create'] } },
        { address: 'a.w', change: { actions: ['update'], importing: { id: '1' } } },
    ] });
    assert.deepEqual(changes, [
        { address: 'a.x', kind: 'add' }, { address: 'a.z', kind: 'replace' },
        { address: 'a.w', kind: 'change' },
    ]);
    assert.deepEqual(changeCounts(changes), { add: 1, change: 1, destroy: 0, replace: 1, import: 0, read: 0 });
    assert.deepEqual(plannedChanges(null), []);
    assert.deepEqual(plannedChanges({}), []);
});
