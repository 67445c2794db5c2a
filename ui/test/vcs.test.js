import { test } from 'node:test';
import assert from 'node:assert/strict';
import { includedIndex } from '../src/lib/api.js';
import {
    connectionForm, connectionAttributes, healthOf, webhookUrl, ingressOf, ingressFromDoc,
    isPullRequest, shortSha, firstLine, refsOf, previewRows, lifecycleOf, ruleAttributes,
} from '../src/lib/vcs.js';

test('a GitHub connection form sends its App fields, the key only when typed', () => {
    const f = { ...connectionForm(), name: ' gh ', appId: '12345', installationId: ' 678 ',
        accountLogin: 'acme', secret: '-----BEGIN KEY-----\n' };
    assert.deepEqual(connectionAttributes(f, true), {
        name: 'gh', provider: 'github', 'server-url': '', status: 'active', 'github-app-id': 12345,
        'github-installation-id': 678, 'github-account-login': 'acme', 'github-account-type': 'Organization',
        'private-key': '-----BEGIN KEY-----\n' });
    const edit = connectionForm({ name: 'gh', provider: 'github', 'github-app-id': 12345,
        'github-installation-id': 678, 'github-account-login': 'acme', 'github-account-type': 'User',
        status: 'disabled', 'has-webhook-secret': true });
    assert.equal(edit.secret, '', 'credentials are never read back');
    const sent = connectionAttributes(edit, false);
    assert.equal(sent.provider, undefined, 'the provider cannot change');
    assert.equal(sent['private-key'], undefined, 'an empty key keeps the stored one');
    assert.equal(sent['webhook-secret'], undefined);
    assert.equal(sent.status, 'disabled');
    assert.equal(sent['github-account-type'], 'User');
    assert.equal(connectionAttributes({ ...edit, appId: '12a' }, false)['github-app-id'], '12a',
        'left for the server to refuse');
});

test('a GitLab connection form sends its token and no App fields', () => {
    const f = { ...connectionForm({ provider: 'gitlab' }), name: 'gl', serverUrl: 'https://gitlab.example.com ',
        secret: ' glpat-x ', webhookSecret: 'hook' };
    assert.deepEqual(connectionAttributes(f, true), { name: 'gl', provider: 'gitlab',
        'server-url': 'https://gitlab.example.com', status: 'active', token: 'glpat-x', 'webhook-secret': 'hook' });
});

test('health follows the newer of the last success and the last error', () => {
    assert.equal(healthOf({}), 'unknown');
    assert.equal(healthOf({ 'last-success-at': '2026-01-01T00:00:00Z' }), 'ok');
    assert.equal(healthOf({ 'last-error-at': '2026-01-01T00:00:00Z', 'last-error': 'x' }), 'failing');
    assert.equal(healthOf({ 'last-success-at': '2026-01-02T00:00:00Z', 'last-error-at': '2026-01-01T00:00:00Z' }), 'ok');
    assert.equal(healthOf({ 'last-success-at': '2026-01-01T00:00:00Z', 'last-error-at': '2026-01-02T00:00:00Z' }),
        'failing');
});

test('the webhook address names the provider and the connection', () => {
    assert.equal(webhookUrl('https://tp.example:8443', { id: 'vcs-1', attributes: { provider: 'github' } }),
        'https://tp.example:8443/api/terrapod/v1/vcs-events/github?connection=vcs-1');
    assert.equal(webhookUrl('https://tp', { id: 'vcs 2', attributes: { provider: 'gitlab' } }),
        'https://tp/api/terrapod/v1/vcs-events/gitlab?connection=vcs%202');
});

test("a run's commit comes from its configuration version's ingress attributes", () => {
    const ing = { 'commit-sha': 'abcdef0123456789', branch: 'main', 'pull-request-number': 14 };
    const doc = {
        data: [
            { id: 'run-1', type: 'runs', relationships: { 'configuration-version': { data: { type: 'configuration-versions', id: 'cv-1' } } } },
            { id: 'run-2', type: 'runs', relationships: { 'configuration-version': { data: { type: 'configuration-versions', id: 'cv-2' } } } },
            { id: 'run-3', type: 'runs', relationships: {} },
        ],
        included: [
            { id: 'cv-1', type: 'configuration-versions', relationships: { 'ingress-attributes': { data: { type: 'ingress-attributes', id: 'ia-1' } } } },
            { id: 'ia-1', type: 'ingress-attributes', attributes: ing },
            { id: 'cv-2', type: 'configuration-versions', relationships: { 'ingress-attributes': { data: null } } },
        ],
    };
    const idx = includedIndex(doc);
    assert.deepEqual(ingressOf(idx, doc.data[0]), ing);
    assert.equal(ingressOf(idx, doc.data[1]), null, 'uploaded: no ingress');
    assert.equal(ingressOf(idx, doc.data[2]), null);
    assert.deepEqual(ingressFromDoc({ data: { attributes: ing } }), ing);
    assert.equal(ingressFromDoc({ data: { attributes: { 'commit-sha': null } } }), null);
    assert.equal(ingressFromDoc(null), null);
    assert.equal(isPullRequest(ing), true);
    assert.equal(isPullRequest({ 'commit-sha': 'a', 'pull-request-number': null }), false);
    assert.equal(isPullRequest({ 'commit-sha': 'a', 'is-pull-request': true }), true);
    assert.equal(isPullRequest(null), false);
    assert.equal(shortSha('abcdef0123456789'), 'abcdef0');
    assert.equal(firstLine('Fix the thing\n\nLonger text'), 'Fix the thing');
});

test('refs as the picker lists them', () => {
    assert.deepEqual(refsOf({ branches: [{ name: 'main', sha: 'a' }, { name: 'dev', sha: 'b' }],
        tags: [{ name: 'v1', sha: 'c' }], 'default-branch': 'main' }),
        { defaultBranch: 'main', branches: ['main', 'dev'], tags: ['v1'] });
    assert.deepEqual(refsOf(null), { defaultBranch: '', branches: [], tags: [] });
});

test('preview rows, flat or under attributes', () => {
    const flat = { workspace_name: 'ws-a', working_directory: 'envs/a', collision: false, existing_autodiscovered: false };
    assert.deepEqual(previewRows({ data: [flat] }),
        [{ workspaceName: 'ws-a', workingDirectory: 'envs/a', collision: false, existing: false }]);
    assert.deepEqual(previewRows([{ attributes: { 'workspace-name': 'ws-b', 'working-directory': 'envs/b',
        collision: true, 'existing-autodiscovered': true } }]),
        [{ workspaceName: 'ws-b', workingDirectory: 'envs/b', collision: true, existing: true }]);
    assert.deepEqual(previewRows({}), []);
});

test('a lifecycle other than active is shown with its reason', () => {
    assert.equal(lifecycleOf({}), null);
    assert.equal(lifecycleOf({ 'lifecycle-state': 'active', 'lifecycle-reason': '' }), null);
    assert.deepEqual(lifecycleOf({ 'lifecycle-state': 'pending_deletion', 'lifecycle-reason': "directory 'envs/a' removed on 'main'" }),
        { state: 'pending_deletion', label: 'Pending deletion', reason: "directory 'envs/a' removed on 'main'" });
    assert.equal(lifecycleOf({ 'lifecycle-state': 'archived' })?.label, 'Archived');
});

test('a new rule sends what its form holds; a changed one what changed', () => {
    const kinds = { name: 'text', pattern: 'text', branch: 'text', enabled: 'bool', 'ignore-patterns': 'lines',
        'agent-pool-id': 'nullable' };
    const form = { name: 'mono', pattern: 'envs/*', branch: '', enabled: true, 'ignore-patterns': 'modules/**\n',
        'agent-pool-id': '', labels: 'team=core, managed' };
    assert.deepEqual(ruleAttributes(kinds, form), { name: 'mono', pattern: 'envs/*', enabled: true,
        'ignore-patterns': ['modules/**'], labels: { team: 'core', managed: '' } });
    const rule = { name: 'mono', pattern: 'envs/*', branch: '', enabled: true, 'ignore-patterns': ['modules/**'],
        'agent-pool-id': null, labels: { managed: '', team: 'core' } };
    assert.deepEqual(ruleAttributes(kinds, form, rule), {}, 'nothing changed');
    assert.deepEqual(ruleAttributes(kinds, { ...form, enabled: false, labels: '' }, rule),
        { enabled: false, labels: {} });
});
