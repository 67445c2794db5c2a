// A workspace bound to a repository from its settings: the connection
// picked among the platform's, the repository and branch (the branches
// its provider lists, through vcs-refs), PR plans, disconnecting; and a
// plan queued from a tag, whose run shows the commit it ran; a pull
// request's plan marked as such.
'use strict';
const crypto = require('node:crypto');
const { test, expect } = require('@playwright/test');
const { admin, api, unique, createWorkspace, until } = require('./lib/instance');
const { signIn, expectClean, expectAccessible } = require('./lib/ui');
const { makeRepo, startGitLab, createGitLabConnection, psql } = require('./lib/vcs');

async function workspace(id) {
    return (await api('GET', `/api/v2/workspaces/${id}`)).json.data;
}

/** Binds a workspace to the test repository through the API. */
async function bind(s) {
    await api('PATCH', `/api/v2/workspaces/${s.ws.id}`, { body: { data: { type: 'workspaces',
        attributes: { 'vcs-repo-url': s.gitlab.repoUrl },
        relationships: { 'vcs-connection': { data: { type: 'vcs-connections', id: s.conn.id } } } } } });
}

/** A plan-only run of a ref through the API. */
async function planOf(ws, ref) {
    const { json } = await api('POST', '/api/v2/runs', { body: { data: { type: 'runs',
        attributes: { 'vcs-ref': ref, 'plan-only': true, message: `A plan of ${ref}` },
        relationships: { workspace: { data: { type: 'workspaces', id: ws.id } } } } } });
    return json.data;
}

/** A fake GitLab with the test repository, a connection to it, a workspace. */
async function setUp() {
    const repo = makeRepo();
    const token = `glpat-${crypto.randomBytes(10).toString('hex')}`;
    const gitlab = await startGitLab({ token, project: 'group/infra', bare: repo.bare });
    const conn = await createGitLabConnection(unique('ui-ws-gitlab'), gitlab.base, token);
    const ws = await createWorkspace(unique('ui-vcs'), { 'execution-mode': 'agent' });
    return { repo, gitlab, conn, ws, async tearDown() {
        await gitlab.stop();
        await api('DELETE', `/api/terrapod/v1/vcs-connections/${conn.id}`, { expect: [204, 404] });
        repo.remove();
    } };
}

test('settings bind a workspace to a repository, and disconnect it', async ({ page }) => {
    const s = await setUp();
    try {
        const name = s.ws.attributes.name;
        await signIn(page, admin, `/app/default/workspaces/${name}/settings`);
        const connection = page.getByLabel('Connection', { exact: true });
        await expect(connection).toHaveValue('');
        await connection.selectOption({ label: s.conn.attributes.name });
        await page.getByLabel('Repository URL').fill(s.gitlab.repoUrl);
        await page.getByLabel('Working directory').fill('envs/dev');
        await page.getByLabel('Trigger prefixes', { exact: true }).fill('modules/\nshared/');
        await page.getByLabel('Plan pull and merge requests (speculative plans)').check();
        const [req] = await Promise.all([
            page.waitForRequest((r) => r.method() === 'PATCH'),
            page.getByRole('button', { name: 'Save settings' }).click(),
        ]);
        expect(JSON.parse(req.postData()).data.relationships)
            .toEqual({ 'vcs-connection': { data: { type: 'vcs-connections', id: s.conn.id } } });
        await expect(page.getByText('Settings saved.')).toBeVisible();
        const bound = await workspace(s.ws.id);
        expect(bound.relationships['vcs-connection'].data.id).toBe(s.conn.id);
        expect(bound.attributes).toMatchObject({ 'vcs-repo-url': s.gitlab.repoUrl, 'working-directory': 'envs/dev',
            'trigger-prefixes': ['modules/', 'shared/'], 'speculative-enabled': true });
        await expect(connection).toHaveValue(s.conn.id);
        await expectAccessible(page);

        await page.getByRole('button', { name: 'Disconnect', exact: true }).click();
        await page.getByRole('group', { name: 'Disconnect this workspace from its repository?' })
            .getByRole('button', { name: 'Disconnect' }).click();
        await expect(connection).toHaveValue('');
        await until(10, 'the workspace unbound', async () =>
            !(await workspace(s.ws.id)).relationships['vcs-connection'].data);
        expectClean(page);
    } finally {
        await s.tearDown();
    }
});

test('the branch picked from vcs-refs, and a plan from a tag shows its commit', async ({ page }) => {
    const s = await setUp();
    try {
        await bind(s);
        const name = s.ws.attributes.name;
        await signIn(page, admin, `/app/default/workspaces/${name}/settings`);
        const branch = page.getByLabel('Branch', { exact: true });
        await expect(branch.locator('option')).toHaveText(['The default branch (main)', 'feature/x', 'main']);
        await branch.selectOption('feature/x');
        await page.getByRole('button', { name: 'Save settings' }).click();
        await expect(page.getByText('Settings saved.')).toBeVisible();
        expect((await workspace(s.ws.id)).attributes['vcs-branch']).toBe('feature/x');

        await page.getByRole('navigation', { name: 'Workspace' }).getByRole('link', { name: 'Runs' }).click();
        const ref = page.getByLabel('Branch or tag');
        await expect(ref.locator('option')).toHaveText(['The followed branch (feature/x)', 'feature/x', 'main', 'v1']);
        await ref.selectOption('v1');
        const [req] = await Promise.all([
            page.waitForRequest((r) => r.method() === 'POST' && r.url().endsWith('/api/v2/runs')),
            page.getByRole('button', { name: 'Queue run' }).click(),
        ]);
        expect(JSON.parse(req.postData()).data.attributes).toMatchObject({ 'vcs-ref': 'v1', 'plan-only': true });
        await page.getByRole('status').getByRole('link').click();
        const short = s.repo.sha.v1.slice(0, 7);
        const source = page.getByRole('region', { name: 'Source', exact: true });
        await expect(source).toContainText(short);
        await expect(source).toContainText('First configuration');
        await expect(source.getByText('v1', { exact: true })).toBeVisible();
        await expectAccessible(page);

        await page.getByRole('navigation', { name: 'Workspace' }).getByRole('link', { name: 'Runs' }).click();
        await expect(page.locator('tr[data-run]').first()).toContainText(short);
        expectClean(page);
    } finally {
        await s.tearDown();
    }
});

test("a pull request's plan: a badge in the runs list and on its page", async ({ page }) => {
    const s = await setUp();
    try {
        await bind(s);
        const branch = await planOf(s.ws, 'main');
        const pr = await planOf(s.ws, 'feature/x');
        // what the server's pull request polling records of a request's commit
        const url = `${s.gitlab.repoUrl}/-/merge_requests/7`;
        psql(`UPDATE configuration_versions SET ingress = ingress || jsonb_build_object(
                'pull-request-number', 7, 'pull-request-url', :'url',
                'pull-request-title', 'A feature', 'is-pull-request', true)
              WHERE id = :'cv'`, { url, cv: pr.relationships['configuration-version'].data.id });

        await signIn(page, admin, `/app/default/workspaces/${s.ws.attributes.name}/runs`);
        const prRow = page.locator(`tr[data-run="${pr.id}"]`);
        await expect(prRow.getByTestId('pr-badge')).toHaveText('PR #7');
        await expect(prRow.getByRole('link', { name: 'PR #7' })).toHaveAttribute('href', url);
        await expect(prRow).toContainText(s.repo.sha['feature/x'].slice(0, 7));
        const branchRow = page.locator(`tr[data-run="${branch.id}"]`);
        await expect(branchRow).toContainText(s.repo.sha.main.slice(0, 7));
        await expect(branchRow.getByTestId('pr-badge')).toHaveCount(0);
        await expectAccessible(page);

        await prRow.getByRole('link', { name: pr.id }).click();
        await expect(page.locator('.run-head').getByTestId('pr-badge')).toHaveText('PR #7');
        const source = page.getByRole('region', { name: 'Source', exact: true });
        await expect(source).toContainText('A feature');
        await expect(source).toContainText('feature/x');
        expectClean(page);
    } finally {
        await s.tearDown();
    }
});
