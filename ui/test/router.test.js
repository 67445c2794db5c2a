import { test } from 'node:test';
import assert from 'node:assert/strict';
import { basePath, routePath, hrefOf, match, fill } from '../src/lib/router.js';

const routes = [
    { pattern: '/app/sign-in' },
    { pattern: '/app/:org/workspaces' },
    { pattern: '/app/:org/workspaces/:name' },
    { pattern: '/app/:org/workspaces/:name/runs/:run' },
    { pattern: '/app/:org/:name/runs/:run' },
    { pattern: '/' },
];

test('the base path comes from the document base, at the root or under a prefix', () => {
    assert.equal(basePath('https://tf.example.com/'), '/');
    assert.equal(basePath('https://tf.example.com/app/x/y'), '/app/x/');
    assert.equal(basePath('https://example.com/tools/terraform/'), '/tools/terraform/');
});

test('route paths are what follows the base, and links put it back', () => {
    assert.equal(routePath('/app/default/workspaces', '/'), '/app/default/workspaces');
    assert.equal(routePath('/tf/app/default/workspaces', '/tf/'), '/app/default/workspaces');
    assert.equal(routePath('/tf', '/tf/'), '/');
    assert.equal(routePath('/tf/', '/tf/'), '/');
    assert.equal(hrefOf('/app/default/workspaces', '/tf/'), '/tf/app/default/workspaces');
    assert.equal(hrefOf('/', '/'), '/');
});

test('the first matching pattern wins and its parameters are decoded', () => {
    const m = match(routes, '/app/default/workspaces/my%20ws');
    assert.equal(m.route.pattern, '/app/:org/workspaces/:name');
    assert.deepEqual(m.params, { org: 'default', name: 'my ws' });
    assert.equal(match(routes, '/app/default/workspaces').route.pattern, '/app/:org/workspaces');
    assert.equal(match(routes, '/app/sign-in').route.pattern, '/app/sign-in');
    assert.equal(match(routes, '/').route.pattern, '/');
});

test('the run address terraform prints opens the run page', () => {
    const m = match(routes, '/app/default/prod/runs/run-abc123');
    assert.equal(m.route.pattern, '/app/:org/:name/runs/:run');
    assert.deepEqual(m.params, { org: 'default', name: 'prod', run: 'run-abc123' });
    const own = match(routes, '/app/default/workspaces/prod/runs/run-abc123');
    assert.equal(own.route.pattern, '/app/:org/workspaces/:name/runs/:run');
});

test('paths that match no pattern, or carry broken escapes, match nothing', () => {
    assert.equal(match(routes, '/app/default/workspaces/a/b'), null);
    assert.equal(match(routes, '/nowhere'), null);
    assert.equal(match(routes, '/app/default/workspaces/%E0%A4%A'), null);
});

test('fill is the inverse of match', () => {
    const path = fill('/app/:org/workspaces/:name', { org: 'default', name: 'a/b c' });
    assert.equal(path, '/app/default/workspaces/a%2Fb%20c');
    assert.deepEqual(match(routes, path).params, { org: 'default', name: 'a/b c' });
    assert.throws(() => fill('/app/:org', {}), /no value for :org/);
});
