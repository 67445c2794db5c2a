// Roles from the UI: create a custom role, give it to a person, change it,
// take it back and delete it; built-in roles offer no controls.
'use strict';
const { test, expect } = require('@playwright/test');
const { admin, api, unique, createUser } = require('./lib/instance');
const { signIn, expectClean, expectAccessible } = require('./lib/ui');
const { acceptDialogs, PASSWORD } = require('./lib/admin');

test('create, assign, edit and delete a role', async ({ page }) => {
    const role = unique('ui-role');
    const person = await createUser(`${unique('ui-holder')}@example.com`, PASSWORD);
    acceptDialogs(page);
    await signIn(page, admin, '/app/admin/roles');
    await expect(page.locator('tr[data-role="admin"]').getByRole('button')).toHaveCount(0);
    await page.getByText('New role', { exact: true }).click();
    const form = page.getByRole('form', { name: 'New role' });
    await form.getByLabel('Name', { exact: true }).fill(role);
    await form.getByLabel('Workspace permission').selectOption('write');
    await form.getByLabel('Allow labels').fill('env=dev, team=core');
    await form.getByLabel('Deny names').fill('shared-network');
    await form.getByRole('button', { name: 'Create role' }).click();
    const row = page.locator(`tr[data-role="${role}"]`);
    await expect(row).toContainText('env=dev, team=core');
    await expect(row).toContainText('shared-network');

    const set = page.getByRole('form', { name: "Set a person's roles" });
    await set.getByLabel('Email').fill(person.email);
    await set.getByLabel(role).check();
    await set.getByRole('button', { name: 'Set roles' }).click();
    // the form empties once the server has taken the assignment
    await expect(set.getByLabel('Email')).toHaveValue('');
    const ra = await api('GET', '/api/terrapod/v1/role-assignments?page[size]=100');
    expect(ra.json.data.find((r) => r.attributes.email === person.email)?.attributes.roles).toEqual([role]);
    await expectAccessible(page);

    await row.getByRole('button', { name: `Edit ${role}` }).click();
    const edit = page.getByRole('form', { name: `Edit ${role}` });
    await edit.getByLabel('Workspace permission').selectOption('read');
    await edit.getByRole('button', { name: 'Save role' }).click();
    await expect(row).toContainText('read');
    const { json } = await api('GET', `/api/terrapod/v1/roles/${role}`);
    expect(json.data.attributes).toMatchObject({ 'workspace-permission': 'read',
        'allow-labels': { env: 'dev', team: 'core' }, 'deny-names': ['shared-network'] });

    await row.getByRole('button', { name: `Delete ${role}` }).click();
    await expect(row).toHaveCount(0);
    await api('GET', `/api/terrapod/v1/roles/${role}`, { expect: [404] });
    expectClean(page);
});
