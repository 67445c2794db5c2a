// Users from the UI: a user created there exists as typed; deactivating
// them stops their tokens until they are reactivated; revoking their
// tokens ends them for good; deleting them removes them.
'use strict';
const { test, expect } = require('@playwright/test');
const { admin, api, unique } = require('./lib/instance');
const { signIn, expectClean, expectAccessible } = require('./lib/ui');
const { createToken, statusWith, acceptDialogs, PASSWORD } = require('./lib/admin');

test('create a user, deactivate them, delete them', async ({ page }) => {
    const email = `${unique('ui-person')}@example.com`;
    acceptDialogs(page);
    await signIn(page, admin, '/app/admin/users');
    await expect(page.getByRole('heading', { name: 'Users', level: 1 })).toBeVisible();
    await page.getByText('New user', { exact: true }).click();
    await page.getByLabel('Email', { exact: true }).fill(email);
    await page.getByLabel('Display name').fill('UI Person');
    await page.getByLabel(/^Password/).fill(PASSWORD);
    await page.getByRole('button', { name: 'Create user' }).click();
    await page.getByLabel('Email contains').fill(email);
    const row = page.locator('tr', { hasText: email });
    await expect(row).toContainText('active');
    await expectAccessible(page);

    const { json } = await api('GET', `/api/terrapod/v1/users/${encodeURIComponent(email)}`);
    expect(json.data.attributes['display-name']).toBe('UI Person');
    const { token } = await createToken(json.data.id, { description: 'theirs' });
    expect(await statusWith(token)).toBe(200);

    await row.getByRole('button', { name: `Deactivate ${email}` }).click();
    await expect(row).toContainText('deactivated');
    expect(await statusWith(token)).toBe(401);
    const after = await api('GET', `/api/terrapod/v1/users/${encodeURIComponent(email)}`);
    expect(after.json.data.attributes['is-active']).toBe(false);

    await row.getByRole('button', { name: `Reactivate ${email}` }).click();
    await expect(row.getByRole('button', { name: `Deactivate ${email}` })).toBeVisible();
    expect(await statusWith(token)).toBe(200);

    await row.getByRole('button', { name: `Revoke tokens of ${email}` }).click();
    await expect(page.getByRole('status').filter({ hasText: `1 token(s) of ${email} revoked.` })).toBeVisible();
    expect(await statusWith(token)).toBe(401);

    await row.getByRole('button', { name: `Delete ${email}` }).click();
    await expect(page.getByText('No users match.')).toBeVisible();
    await api('GET', `/api/terrapod/v1/users/${encodeURIComponent(email)}`, { expect: [404] });
    expectClean(page);
});

test('an admin is offered no control over their own account', async ({ page }) => {
    await signIn(page, admin, `/app/admin/users?email=${encodeURIComponent(admin.email)}`);
    const row = page.locator('tr', { hasText: admin.email });
    await expect(row).toBeVisible();
    await expect(row.getByRole('button')).toHaveCount(0);
    expectClean(page);
});
