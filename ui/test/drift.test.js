import { test } from 'node:test';
import assert from 'node:assert/strict';
import { driftOf, assessmentSummary } from '../src/lib/drift.js';

test('the drift badge follows drift-status, none while off and never checked', () => {
    assert.equal(driftOf({ 'drift-status': '', 'drift-detection-enabled': false }), null);
    assert.deepEqual(driftOf({ 'drift-status': '', 'drift-detection-enabled': true }),
        { status: '', label: 'Not checked yet', tone: 'done' });
    assert.equal(driftOf({ 'drift-status': 'drifted' }).tone, 'bad');
    assert.equal(driftOf({ 'drift-status': 'no_drift', 'drift-detection-enabled': true }).label, 'No drift');
    assert.equal(driftOf({ 'drift-status': 'errored' }).label, 'Drift check failed',
        'a status stays shown after drift detection is turned off');
});

test('an assessment result in a line', () => {
    assert.equal(assessmentSummary({ 'drift-status': 'drifted', drifted: true,
        'resources-drifted': 2, 'resources-undrifted': 5 }), '2 drifted, 5 not');
    assert.equal(assessmentSummary({ 'drift-status': 'no_drift', drifted: false,
        'resources-drifted': null }), 'No changes');
    assert.equal(assessmentSummary({ 'drift-status': 'drifted', drifted: true,
        'resources-drifted': null }), 'Changes found');
    assert.equal(assessmentSummary({ 'drift-status': 'errored', 'error-msg': 'boom' }), 'Failed: boom');
    assert.equal(assessmentSummary({ 'drift-status': 'errored', 'error-msg': null }), 'Failed');
});
