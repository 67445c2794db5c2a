// The audit log page: its filters reach the server (and the address), and
// pages follow them.
'use strict';
const { test, expect } = require('@playwright/test');
const { admin, api, unique } = require('./lib/instance');
const { signIn, expectClean, expectAccessible } = require('./lib/ui');

test('filtering the audit log by resource, status and method', async ({ page }) => {
    const id = unique('no-such-role');
    // a refused read and a refused write of one made-up role, as entries to find
    await api('GET', `/api/terrapod/v1/roles/${id}`, { expect: [404] });
    await api('DELETE', `/api/terrapod/v1/roles/${id}`, { expect: [404] });
    await signIn(page, admin, '/app/admin/audit-log');
    await expect(page.getByRole('heading', { name: 'Audit log', level: 1 })).toBeVisible();
    const form = page.getByRole('search', { name: 'Filter the audit log' });
    await form.getByLabel('Resource id').fill(id);
    await form.getByRole('button', { name: 'Filter' }).click();
    await expect(page).toHaveURL(new RegExp(`resource-id=${id}`));
    // the writer thread inserts within about 0.1 s; the list is read again until then
    const rows = page.locator('table.audit tbody tr');
    await expect(async () => {
        await page.reload();
        await expect(rows).toHaveCount(2, { timeout: 2000 });
    }).toPass({ timeout: 20000 });
    await expect(rows.first()).toContainText(`DELETE /api/terrapod/v1/roles/${id}`);
    await expect(rows.nth(1)).toContainText(`GET /api/terrapod/v1/roles/${id}`);
    await expect(rows.first()).toContainText(admin.email);

    await form.getByLabel('Method').fill('get');
    await form.getByRole('button', { name: 'Filter' }).click();
    await expect(rows).toHaveCount(1);
    await expect(rows.first()).toContainText(`GET /api/terrapod/v1/roles/${id}`);
    await expect(page.getByText('Page 1 of 1 (1 entries)')).toBeVisible();

    await form.getByLabel('Status').fill('200');
    await form.getByRole('button', { name: 'Filter' }).click();
    await expect(page.getByText('No entries match.')).toBeVisible();
    await expectAccessible(page);

    await form.getByRole('button', { name: 'Clear' }).click();
    await expect(page).toHaveURL(/\/app\/admin\/audit-log$/);
    await expect(rows.first()).toBeVisible();
    expectClean(page);
});

test('paging through the audit log', async ({ page }) => {
    const id = unique('paged-role');
    for (let i = 0; i < 25; i++) {
        await api('GET', `/api/terrapod/v1/roles/${id}`, { expect: [404] });
        // under the user's rate limit (30 a second)
        await new Promise((r) => setTimeout(r, 50));
    }
    await signIn(page, admin, `/app/admin/audit-log?resource-id=${id}`);
    const pager = page.getByRole('navigation', { name: 'Pages' });
    await expect(async () => {
        await page.reload();
        await expect(pager).toContainText('Page 1 of 2 (25 entries)', { timeout: 2000 });
    }).toPass({ timeout: 20000 });
    await expect(page.locator('table.audit tbody tr')).toHaveCount(20);
    await pager.getByRole('button', { name: 'Next' }).click();
    await expect(page).toHaveURL(new RegExp(`resource-id=${id}&page=2`));
    await expect(pager).toContainText('Page 2 of 2 (25 entries)');
    await expect(page.locator('table.audit tbody tr')).toHaveCount(5);
    expectClean(page);
});

test('a malformed filter is the server\'s 400, shown', async ({ page }) => {
    await signIn(page, admin, '/app/admin/audit-log?since=yesterday');
    await expect(page.getByRole('alert')).toContainText('filter[since]');
    expectClean(page);
});
