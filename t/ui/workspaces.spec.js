// The workspaces list: signing in through the form from it, finding a
// workspace by name and by label, paging, and opening one.
'use strict';
const { test, expect } = require('@playwright/test');
const { admin, unique, createWorkspace } = require('./lib/instance');
const { signIn, expectClean, expectAccessible } = require('./lib/ui');

test('signing in through the form comes back to the workspaces list', async ({ page }) => {
    const name = unique('ui-list');
    await createWorkspace(name, { labels: { team: 'ui' } });
    await signIn(page, admin, '/');
    await expect(page).toHaveURL(/\/app\/default\/workspaces$/);
    await expect(page.getByRole('heading', { name: 'Workspaces', level: 1 })).toBeVisible();
    await page.getByLabel('Name').fill(name);
    await expect(page).toHaveURL(new RegExp(`search=${name}`));
    const row = page.locator('tr', { has: page.getByRole('link', { name }) });
    await expect(row).toHaveCount(1);
    await expect(row).toContainText('team=ui');
    await expect(row).toContainText('Unlocked');
    await expectAccessible(page);
    expectClean(page);
});

test('a deep link survives signing in and a reload', async ({ page }) => {
    const name = unique('ui-deep');
    await createWorkspace(name);
    const path = `/app/default/workspaces?search=${name}`;
    await signIn(page, admin, path);
    await expect(page).toHaveURL(new RegExp(`/app/default/workspaces\\?search=${name}$`));
    await expect(page.getByRole('link', { name })).toBeVisible();
    await page.reload();
    await expect(page.getByRole('link', { name })).toBeVisible();
    await expect(page.getByLabel('Name')).toHaveValue(name);
    expectClean(page);
});

test('the label filter and paging ask the server', async ({ page }) => {
    const team = unique('team');
    const names = [];
    for (let i = 0; i < 23; i++) {
        names.push(`${team}-${String(i).padStart(2, '0')}`);
        await createWorkspace(names[i], { labels: { team, odd: String(i % 2) } });
    }
    await signIn(page, admin, `/app/default/workspaces?label=team%3D${team}`);
    await expect(page.getByText(`Page 1 of 2 (23 workspaces)`)).toBeVisible();
    await expect(page.locator('tbody tr')).toHaveCount(20);
    await page.getByRole('button', { name: 'Next' }).click();
    await expect(page.getByText(`Page 2 of 2 (23 workspaces)`)).toBeVisible();
    await expect(page.locator('tbody tr')).toHaveCount(3);
    await expect(page.getByRole('link', { name: names[22] })).toBeVisible();
    await page.getByLabel('Label').fill(`team=${team},odd=1`);
    await expect(page.getByText('(11 workspaces)')).toBeVisible();
    expectClean(page);
});

test('opening a workspace from the list', async ({ page }) => {
    const name = unique('ui-open');
    await createWorkspace(name);
    await signIn(page, admin, `/app/default/workspaces?search=${name}`);
    await page.getByRole('link', { name }).click();
    await expect(page).toHaveURL(new RegExp(`/app/default/workspaces/${name}$`));
    await expect(page.getByRole('heading', { name, level: 1 })).toBeVisible();
    await expect(page).toHaveTitle(`Workspace · ${name} · Terrapod`);
    expectClean(page);
});

test('signing out ends the session', async ({ page }) => {
    await signIn(page, admin, '/');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await expect(page.getByText('You are signed out.')).toBeVisible();
    await expect(page.getByRole('link', { name: 'Sign in with email and password' })).toBeVisible();
    await expectAccessible(page);
    const res = await page.request.get('/api/v2/account/details');
    expect(res.status()).toBe(401);
    expectClean(page);
});

test('on a phone the list and a workspace fit the screen', async ({ page }) => {
    const name = unique('ui-phone');
    await createWorkspace(name, { labels: { team: 'phone', env: 'a-rather-long-label-value' } });
    await page.setViewportSize({ width: 390, height: 844 });
    await signIn(page, admin, `/app/default/workspaces?search=${name}`);
    await expect(page.getByRole('link', { name })).toBeVisible();
    const overflow = () => page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(await overflow()).toBeLessThanOrEqual(0);
    await expectAccessible(page);
    await page.getByRole('link', { name }).click();
    await expect(page.getByRole('heading', { name, level: 1 })).toBeVisible();
    expect(await overflow()).toBeLessThanOrEqual(0);
    await expectAccessible(page);
    expectClean(page);
});

test('the keyboard alone reaches a workspace', async ({ page }) => {
    const name = unique('ui-keys');
    await createWorkspace(name);
    await signIn(page, admin, `/app/default/workspaces?search=${name}`);
    await expect(page.getByRole('link', { name })).toBeVisible();
    await page.keyboard.press('Tab');
    await expect(page.getByRole('link', { name: 'Skip to content' })).toBeFocused();
    await page.keyboard.press('Enter');
    await expect(page.locator('main')).toBeFocused();
    await expect(page).toHaveURL(new RegExp(`search=${name}$`));
    // from the content on, the fields, then the workspace's link
    let steps = 0;
    while (!(await page.getByRole('link', { name }).evaluate((a) => a === document.activeElement))) {
        await page.keyboard.press('Tab');
        expect(++steps).toBeLessThan(10);
    }
    await page.keyboard.press('Enter');
    await expect(page.getByRole('heading', { name, level: 1 })).toBeVisible();
    await expect(page.locator('main')).toBeFocused();
    expectClean(page);
});

test('when the session ends, signing in again comes back to the page', async ({ page }) => {
    const name = unique('ui-expired');
    await createWorkspace(name);
    await signIn(page, admin, `/app/default/workspaces/${name}`);
    await expect(page.getByRole('heading', { name, level: 1 })).toBeVisible();
    // the session ends (signed out elsewhere, or expired): the next call is a 401
    const csrf = (await page.context().cookies()).find((c) => c.name === 'terrapod_csrf').value;
    const out = await page.request.post('/api/terrapod/v1/auth/logout', { headers: { 'X-CSRF-Token': csrf } });
    expect(out.status()).toBe(204);
    await page.getByRole('link', { name: 'Runs', exact: true }).click();
    await expect(page).toHaveURL(/\/api\/terrapod\/v1\/auth\/authorize\?return_to=/);
    await page.getByLabel('Email').fill(admin.email);
    await page.getByLabel('Password').fill(admin.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page).toHaveURL(new RegExp(`/app/default/workspaces/${name}/runs$`));
    await expect(page.getByRole('heading', { name, level: 1 })).toBeVisible();
    expectClean(page);
});
