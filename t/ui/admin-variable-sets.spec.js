// Variable sets from the UI: create one, add a sensitive variable (never
// shown again, kept when the variable is edited without a new value), and
// assign the set to a workspace, whose runs then receive it.
'use strict';
const { test, expect } = require('@playwright/test');
const { admin, api, unique, createWorkspace } = require('./lib/instance');
const { signIn, expectClean, expectAccessible } = require('./lib/ui');
const { acceptDialogs } = require('./lib/admin');

test('create a set, a write-only variable, and assign it', async ({ page }) => {
    const name = unique('ui-set');
    const ws = await createWorkspace(unique('ui-set-ws'));
    acceptDialogs(page);
    await signIn(page, admin, '/app/admin/variable-sets');
    await page.getByText('New variable set', { exact: true }).click();
    await page.getByLabel('Name').fill(name);
    await page.getByRole('button', { name: 'Create variable set' }).click();
    await expect(page.getByRole('heading', { name, level: 1 })).toBeVisible();
    const id = page.url().split('/').pop();

    await page.getByText('New variable', { exact: true }).click();
    const form = page.getByRole('form', { name: 'New variable' });
    await form.getByLabel('Key').fill('db_password');
    await form.getByLabel('Sensitive').check();
    await form.getByLabel('Value').fill('s3cret-value');
    await form.getByRole('button', { name: 'Add variable' }).click();
    const row = page.locator('tr', { hasText: 'db_password' });
    await expect(row).toContainText('Sensitive: write-only');
    expect(await page.content()).not.toContain('s3cret-value');

    // edited without a value: the sealed one stays
    await row.getByRole('button', { name: 'Edit db_password' }).click();
    const edit = page.getByRole('form', { name: 'Edit db_password' });
    await expect(edit.getByLabel('Value')).toHaveValue('');
    await edit.getByLabel('Description').fill('the database password');
    await edit.getByRole('button', { name: 'Save variable' }).click();
    await expect(page.locator('tr', { hasText: 'db_password' })).toContainText('the database password');

    await page.getByLabel('Workspace name').fill(ws.attributes.name);
    await page.getByRole('button', { name: 'Assign' }).click();
    await expect(page.getByRole('link', { name: ws.attributes.name })).toBeVisible();
    await expectAccessible(page);

    const vars = await api('GET', `/api/v2/varsets/${id}/relationships/vars`);
    expect(vars.json.data[0].attributes).toMatchObject({
        key: 'db_password', sensitive: true, value: null, description: 'the database password' });
    const all = await api('GET', `/api/v2/workspaces/${ws.id}/all-vars`);
    expect(JSON.stringify(all.json)).toContain('db_password');

    await page.getByRole('button', { name: `Unassign ${ws.attributes.name}` }).click();
    await expect(page.getByText('Assigned to no workspace.')).toBeVisible();
    await page.getByRole('button', { name: 'Delete variable set' }).click();
    await expect(page).toHaveURL(/\/app\/admin\/variable-sets$/);
    await api('GET', `/api/v2/varsets/${id}`, { expect: [404] });
    expectClean(page);
});
