import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
    toField, fromField, changedAttributes, labelRows, labelsFromRows, varForm, varAttributes,
} from '../src/lib/workspace-forms.js';

test('fields and attributes convert both ways', () => {
    assert.equal(toField('bool', true), true);
    assert.equal(toField('lines', ['a', 'b']), 'a\nb');
    assert.equal(toField('nullable', null), '');
    assert.equal(toField('int', 3600), '3600');
    assert.deepEqual(fromField('lines', ' a \n\n b\n'), ['a', 'b']);
    assert.equal(fromField('nullable', '  '), null);
    assert.equal(fromField('int', ' 7200 '), 7200);
    assert.equal(fromField('int', '2h'), '2h', 'left for the server to refuse');
});

test('only what changed is sent', () => {
    const kinds = { name: 'text', 'auto-apply': 'bool', 'agent-pool-id': 'nullable',
        'drift-ignore-rules': 'lines', 'drift-detection-interval-seconds': 'int' };
    const attrs = { name: 'ws', 'auto-apply': false, 'agent-pool-id': null,
        'drift-ignore-rules': ['a.b'], 'drift-detection-interval-seconds': 86400 };
    const same = Object.fromEntries(Object.entries(kinds).map(([k, kind]) => [k, toField(kind, attrs[k])]));
    assert.deepEqual(changedAttributes(kinds, attrs, same), {});
    assert.deepEqual(changedAttributes(kinds, attrs, {
        ...same, 'auto-apply': true, 'agent-pool-id': 'apool-1', 'drift-ignore-rules': 'a.b\nc.*',
        'drift-detection-interval-seconds': '3600',
    }), { 'auto-apply': true, 'agent-pool-id': 'apool-1', 'drift-ignore-rules': ['a.b', 'c.*'],
        'drift-detection-interval-seconds': 3600 });
    assert.deepEqual(changedAttributes(kinds, { ...attrs, 'agent-pool-id': 'apool-1' },
        { ...same }), { 'agent-pool-id': null }, 'clearing the pool sends null');
});

test('labels as rows and back', () => {
    assert.deepEqual(labelRows({ team: 'a', env: 'dev', flag: '' }),
        [{ key: 'env', value: 'dev' }, { key: 'flag', value: '' }, { key: 'team', value: 'a' }]);
    assert.deepEqual(labelsFromRows([{ key: ' env ', value: 'prod' }, { key: '', value: '' }, { key: 'flag', value: '' }]),
        { labels: { env: 'prod', flag: '' } });
    assert.deepEqual(labelsFromRows([]), { labels: {} });
    assert.match(/** @type {any} */ (labelsFromRows([{ key: 'a', value: '1' }, { key: 'a', value: '2' }])).error, /twice/);
    assert.match(/** @type {any} */ (labelsFromRows([{ key: ' ', value: 'orphan' }])).error, /no key/);
});

test('a sensitive value is never put back in a form, and kept unless retyped', () => {
    const secret = { key: 'token', value: null, category: 'env', hcl: false, sensitive: true, description: 'd' };
    const form = varForm(secret);
    assert.equal(form.value, '');
    assert.equal('value' in varAttributes(form, secret), false, 'an empty field keeps the stored value');
    assert.equal(varAttributes({ ...form, value: 'new' }, secret).value, 'new');
    // a new sensitive variable may be empty on purpose
    assert.equal(varAttributes({ ...varForm(), key: 'k', sensitive: true }).value, '');
    const plain = { key: 'region', value: 'eu', category: 'terraform', hcl: false, sensitive: false, description: '' };
    assert.equal(varForm(plain).value, 'eu');
    assert.equal(varAttributes({ ...varForm(plain), value: '' }, plain).value, '', 'a plain value may be emptied');
    assert.deepEqual(varAttributes({ ...varForm(plain), key: ' region2 ' }, plain),
        { key: 'region2', category: 'terraform', hcl: false, sensitive: false, description: '', value: 'eu' });
});
