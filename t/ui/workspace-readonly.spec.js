// A person who may only read a workspace sees its tabs without a single
// control that would change it; each tab passes the accessibility scan.
'use strict';
const { test, expect } = require('@playwright/test');
const { unique, createWorkspace } = require('./lib/instance');
const { signIn, expectClean, expectAccessible } = require('./lib/ui');
const { personWithLevel, stateOf, uploadState, uploadFiles, createVar } = require('./lib/workspace');

test('read only: no write control on any tab', async ({ page }) => {
    const name = unique('ui-ro');
    const ws = await createWorkspace(name, { labels: { team: 'ro' } });
    await createVar(ws.id, { key: 'region', value: 'eu' });
    await createVar(ws.id, { key: 'secret', value: 'do-not-show', sensitive: true });
    await uploadState(ws.id, stateOf(1, { a: '1' }));
    await uploadState(ws.id, stateOf(2, { a: '2' }));
    await uploadFiles(ws.id, { 'main.tf': 'output "x" {\n  value = 1\n}\n' });
    await uploadFiles(ws.id, { 'main.tf': 'output "x" {\n  value = 2\n}\n' });
    const reader = await personWithLevel(name, 'read');
    const tab = (t) => `/app/default/workspaces/${name}/${t}`;
    const noButton = async (label) => expect(page.getByRole('button', { name: label })).toHaveCount(0);

    await signIn(page, reader, tab('variables'));
    await expect(page.locator('tr[data-var="region"]')).toContainText('eu');
    await expect(page.locator('tr[data-var="secret"]')).toContainText('Sensitive: write-only');
    for (const label of ['Add variable', /^Edit/, 'Delete']) await noButton(label);
    await expectAccessible(page);

    await page.goto(tab('state'));
    await expect(page.locator('tr[data-serial="2"]')).toContainText('Current');
    for (const label of ['Roll back to this', 'Delete', 'Compare']) await noButton(label);
    await expect(page.getByRole('link', { name: /Download/ })).toHaveCount(0);
    await expectAccessible(page);

    await page.goto(tab('runs'));
    await expect(page.getByText('This workspace has no runs yet.')).toBeVisible();
    await noButton('Queue run');
    await expect(page.getByRole('heading', { name: 'Queue a run' })).toHaveCount(0);
    await expectAccessible(page);

    await page.goto(tab('configurations'));
    await expect(page.locator('tbody tr')).toHaveCount(2);
    await expectAccessible(page);

    await page.goto(tab('settings'));
    await expect(page.getByLabel('Name', { exact: true })).toHaveValue(name);
    await expect(page.getByLabel('Name', { exact: true })).toBeDisabled();
    await expect(page.getByText('team=ro')).toBeVisible();
    for (const label of ['Save settings', 'Save labels', 'Add label', 'Safe delete', /^Delete/]) await noButton(label);
    await expect(page.getByRole('heading', { name: 'Delete this workspace' })).toHaveCount(0);
    await expectAccessible(page);
    expectClean(page);
});

test('plan level: plans and state downloads, but no apply, rollback or settings', async ({ page }) => {
    const name = unique('ui-plan');
    const ws = await createWorkspace(name);
    await uploadState(ws.id, stateOf(1, { a: '1' }));
    await uploadState(ws.id, stateOf(2, { a: '2' }));
    const planner = await personWithLevel(name, 'plan');
    await signIn(page, planner, `/app/default/workspaces/${name}/runs`);
    const kinds = page.getByRole('group', { name: 'What to run' }).getByRole('radio');
    await expect(kinds).toHaveCount(2);
    await expect(page.getByLabel('Plan only', { exact: true })).toBeVisible();
    await expect(page.getByLabel('Destroy plan (plan only)')).toBeVisible();

    await page.goto(`/app/default/workspaces/${name}/state`);
    await expect(page.getByRole('link', { name: /Download/ })).toHaveCount(2);
    await expect(page.getByRole('button', { name: 'Compare' })).toBeVisible();
    await expect(page.getByRole('button', { name: 'Roll back to this' })).toHaveCount(0);

    await page.goto(`/app/default/workspaces/${name}/variables`);
    await expect(page.getByRole('button', { name: 'Add variable' })).toHaveCount(0);
    expectClean(page);
});
