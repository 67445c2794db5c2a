import { test } from 'node:test';
import assert from 'node:assert/strict';
import { redactState, stateLines, HIDDEN } from '../src/lib/state.js';

// as terraform 1.11 writes it
const STATE = {
    version: 4,
    serial: 3,
    outputs: {
        plain: { value: 'hi', type: 'string' },
        secret: { value: 'hunter2', type: 'string', sensitive: true },
    },
    resources: [{
        mode: 'managed',
        type: 'terraform_data',
        name: 'x',
        instances: [{
            attributes: {
                id: 'f66',
                input: { value: { pw: 'hunter2', user: 'a' }, type: ['object', { pw: 'string', user: 'string' }] },
                password: 'swordfish',
                list: ['a', 'hunter3'],
            },
            sensitive_attributes: [
                [{ type: 'get_attr', value: 'input' }, { type: 'get_attr', value: 'pw' }],
                [{ type: 'get_attr', value: 'password' }],
                [{ type: 'get_attr', value: 'list' }, { type: 'index', value: { value: 1, type: 'number' } }],
                [{ type: 'get_attr', value: 'absent' }, { type: 'get_attr', value: 'deeper' }],
            ],
        }],
    }],
};

test('sensitive outputs and attributes are hidden, the rest kept', () => {
    const r = redactState(STATE);
    assert.equal(r.outputs.secret.value, HIDDEN);
    assert.equal(r.outputs.plain.value, 'hi');
    const attrs = r.resources[0].instances[0].attributes;
    assert.equal(attrs.input.value.pw, HIDDEN);
    assert.equal(attrs.input.value.user, 'a');
    assert.equal(attrs.password, HIDDEN);
    assert.deepEqual(attrs.list, ['a', HIDDEN]);
    assert.equal(attrs.id, 'f66');
    assert.equal('absent' in attrs, false, 'a path to nothing adds nothing');
    // the state given is left as it was
    assert.equal(STATE.outputs.secret.value, 'hunter2');
});

test('no secret reaches the lines a diff shows', () => {
    const text = stateLines(STATE).join('\n');
    assert.doesNotMatch(text, /hunter|swordfish/);
    assert.match(text, /"serial": 3/);
    assert.deepEqual(stateLines({}), ['{}']);
});
