// A workspace's runs tab: queueing a plan from the newest configuration,
// the refusal without one, and the list linking to the run page.
'use strict';
const { test, expect } = require('@playwright/test');
const { admin, api, unique, createWorkspace } = require('./lib/instance');
const { signIn, expectClean, expectAccessible } = require('./lib/ui');
const { uploadFiles } = require('./lib/workspace');

test('runs: queueing a plan from the runs tab', async ({ page }) => {
    const name = unique('ui-runs');
    const ws = await createWorkspace(name);
    const cv = await uploadFiles(ws.id, { 'main.tf': 'output "answer" {\n  value = 42\n}\n' });
    await signIn(page, admin, `/app/default/workspaces/${name}/runs`);
    await expect(page.getByText('This workspace has no runs yet.')).toBeVisible();
    const kinds = page.getByRole('group', { name: 'What to run' });
    await expect(kinds.getByRole('radio')).toHaveCount(4);
    await expect(page.getByLabel('Plan only', { exact: true })).toBeChecked();
    await expectAccessible(page);

    await page.getByLabel('Message').fill('plan from the browser');
    await page.getByRole('button', { name: 'Queue run' }).click();
    const status = page.getByRole('status').filter({ hasText: 'Queued' });
    await expect(status).toBeVisible();
    const runId = (await status.getByRole('link').textContent()).trim();
    expect(runId).toMatch(/^run-/);

    const { json } = await api('GET', `/api/v2/runs/${runId}?include=configuration_version`);
    expect(json.data.attributes).toMatchObject({ message: 'plan from the browser', 'plan-only': true,
        'is-destroy': false });
    expect(json.data.relationships['configuration-version'].data.id).toBe(cv);
    expect(json.data.relationships.workspace.data.id).toBe(ws.id);

    const row = page.locator(`tr[data-run="${runId}"]`);
    await expect(row).toContainText('Plan only');
    await expect(row).toContainText('plan from the browser');
    await row.getByRole('link', { name: runId }).click();
    await expect(page).toHaveURL(new RegExp(`/app/default/workspaces/${name}/runs/${runId}$`));
    expectClean(page);
});

test('runs: a destroy plan, and the refusal without a configuration', async ({ page }) => {
    const name = unique('ui-runs-none');
    const ws = await createWorkspace(name);
    await signIn(page, admin, `/app/default/workspaces/${name}/runs`);
    await page.getByRole('button', { name: 'Queue run' }).click();
    await expect(page.getByRole('alert')).toContainText('no uploaded configuration');
    expect((await api('GET', `/api/v2/workspaces/${ws.id}/runs`)).json.data).toEqual([]);

    await uploadFiles(ws.id, { 'main.tf': 'output "x" {\n  value = 1\n}\n' });
    await page.getByLabel('Destroy plan (plan only)').check();
    await expect(page.getByLabel(/Apply without waiting/)).toHaveCount(0);
    await page.getByRole('button', { name: 'Queue run' }).click();
    await expect(page.getByRole('status').filter({ hasText: 'Queued' })).toBeVisible();
    const runs = (await api('GET', `/api/v2/workspaces/${ws.id}/runs`)).json.data;
    expect(runs.map((r) => [r.attributes['is-destroy'], r.attributes['plan-only']])).toEqual([[true, true]]);
    await expect(page.locator(`tr[data-run="${runs[0].id}"]`)).toContainText('Destroy plan');

    // a workspace that allows no destroy runs offers none
    await api('PATCH', `/api/v2/workspaces/${ws.id}`, {
        body: { data: { type: 'workspaces', attributes: { 'allow-destroy-plan': false } } },
    });
    await page.reload();
    await expect(page.getByRole('group', { name: 'What to run' }).getByRole('radio')).toHaveCount(2);
    expectClean(page);
});
