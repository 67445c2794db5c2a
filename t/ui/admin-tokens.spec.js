// API tokens from the UI: one created under the person's settings shows
// its secret once and works; one revoked or rotated there is refused by
// the API from then on; the admin's list filters by kind.
'use strict';
const { test, expect } = require('@playwright/test');
const { admin, api, unique } = require('./lib/instance');
const { signIn, expectClean, expectAccessible } = require('./lib/ui');
const { createToken, statusWith, acceptDialogs } = require('./lib/admin');

async function adminId() {
    const { json } = await api('GET', '/api/v2/account/details');
    return json.data.id;
}

test('a token created in the UI shows its secret once, and it works', async ({ page }) => {
    const description = unique('ui-new-token');
    await signIn(page, admin, '/app/settings/tokens');
    await expect(page.getByRole('heading', { name: 'My tokens', level: 1 })).toBeVisible();
    await page.getByText('New token', { exact: true }).click();
    await page.getByLabel('Description').fill(description);
    await page.getByRole('button', { name: 'Create token' }).click();
    const field = page.getByLabel('New token', { exact: true });
    await expect(field).toHaveValue(/\S{20,}/);
    const secret = await field.inputValue();
    expect(await statusWith(secret)).toBe(200);
    await expect(page.locator('tr', { hasText: description })).toBeVisible();
    await expectAccessible(page);
    await page.getByRole('button', { name: 'Done' }).click();
    await expect(page.locator('.secret')).toHaveCount(0);
    await page.reload();
    await expect(page.locator('tr', { hasText: description })).toBeVisible();
    expect(await page.content()).not.toContain(secret);
    expectClean(page);
});

test('a token revoked in the UI is refused by the API', async ({ page }) => {
    const description = unique('ui-revoke');
    const { token } = await createToken(await adminId(), { description });
    expect(await statusWith(token)).toBe(200);
    acceptDialogs(page);
    await signIn(page, admin, '/app/settings/tokens');
    await page.getByRole('button', { name: `Revoke ${description}` }).click();
    await expect(page.locator('tr', { hasText: description })).toHaveCount(0);
    expect(await statusWith(token)).toBe(401);
    expectClean(page);
});

test('rotating in the UI shows the new secret once; the old one is refused', async ({ page }) => {
    const description = unique('ui-rotate');
    const { token } = await createToken(await adminId(), { description });
    acceptDialogs(page);
    await signIn(page, admin, '/app/settings/tokens');
    await page.getByRole('button', { name: `Rotate ${description}` }).click();
    const field = page.getByLabel('Rotated token');
    await expect(field).toHaveValue(/\S{20,}/);
    const fresh = await field.inputValue();
    expect(fresh).not.toBe(token);
    expect(await statusWith(token)).toBe(401);
    expect(await statusWith(fresh)).toBe(200);
    expectClean(page);
});

test('all tokens, by kind, for platform admins', async ({ page }) => {
    const description = unique('ui-bound');
    await createToken(await adminId(), { description, kind: 'service_bound', 'pinned-roles': ['admin'],
                                         'lifespan-hours': 24 });
    await signIn(page, admin, '/app/admin/tokens?kind=service_bound');
    await expect(page.getByRole('heading', { name: 'All tokens', level: 1 })).toBeVisible();
    const row = page.locator('tr', { hasText: description });
    await expect(row).toContainText('service_bound');
    await expect(row).toContainText(admin.email);
    // it expires within the warning window: the notice names it
    await expect(page.locator('.notice')).toContainText(description);
    await page.getByLabel('Kind').selectOption('interactive');
    await expect(page).toHaveURL(/kind=interactive/);
    await expect(page.locator('tr', { hasText: description })).toHaveCount(0);
    await expectAccessible(page);
    expectClean(page);
});
