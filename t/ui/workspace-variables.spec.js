// A workspace's variables tab: adding, changing and deleting variables; a
// sensitive value never shown and kept unless retyped; what runs receive
// from variable sets.
'use strict';
const { test, expect } = require('@playwright/test');
const { admin, api, unique, createWorkspace } = require('./lib/instance');
const { signIn, expectClean, expectAccessible } = require('./lib/ui');
const { listVars } = require('./lib/workspace');

const SECRET = 'pa55-never-shown';

/** The attributes of the PATCH or POST a click sends. */
async function sentAttributes(page, method, click) {
    const [req] = await Promise.all([
        page.waitForRequest((r) => r.method() === method && /\/vars(\/|$)/.test(new URL(r.url()).pathname)),
        click(),
    ]);
    return JSON.parse(req.postData()).data.attributes;
}

test('variables: add, change, a sensitive one stays hidden, delete', async ({ page }) => {
    const name = unique('ui-vars');
    const ws = await createWorkspace(name);
    await signIn(page, admin, `/app/default/workspaces/${name}/variables`);
    await expect(page.getByRole('heading', { name: 'Workspace variables' })).toBeVisible();
    await expect(page.getByText('This workspace has no variables of its own.')).toBeVisible();

    // a plain terraform variable
    await page.getByRole('button', { name: 'Add variable' }).click();
    await page.getByLabel('Key', { exact: true }).fill('region');
    await page.getByLabel('Value', { exact: true }).fill('eu-west-1');
    await page.getByLabel('Description').fill('where it runs');
    await expectAccessible(page);
    await page.getByRole('button', { name: 'Add variable' }).click();
    const region = page.locator('tr[data-var="region"]');
    await expect(region).toContainText('eu-west-1');
    await expect(region).toContainText('Terraform');
    let vars = await listVars(ws.id);
    expect(vars.map((v) => [v.attributes.key, v.attributes.value, v.attributes.category]))
        .toEqual([['region', 'eu-west-1', 'terraform']]);

    // changed: value and category
    await page.getByRole('button', { name: 'Edit region' }).click();
    await expect(page.getByLabel('Value', { exact: true })).toHaveValue('eu-west-1');
    await page.getByLabel('Value', { exact: true }).fill('us-east-1');
    await page.getByLabel('Environment').check();
    await page.getByRole('button', { name: 'Save variable' }).click();
    await expect(region).toContainText('us-east-1');
    await expect(region).toContainText('Environment');
    vars = await listVars(ws.id);
    expect(vars[0].attributes).toMatchObject({ key: 'region', value: 'us-east-1', category: 'env' });

    // a sensitive one: written, never read back
    await page.getByRole('button', { name: 'Add variable' }).click();
    await page.getByLabel('Key', { exact: true }).fill('api_token');
    await page.getByLabel('Value', { exact: true }).fill(SECRET);
    await page.getByLabel('Sensitive (write-only)').check();
    await page.getByRole('button', { name: 'Add variable' }).click();
    const token = page.locator('tr[data-var="api_token"]');
    await expect(token).toContainText('Sensitive: write-only');
    await expect(page.locator('body')).not.toContainText(SECRET);
    const stored = (await listVars(ws.id)).find((v) => v.attributes.key === 'api_token');
    expect(stored.attributes).toMatchObject({ sensitive: true, value: null });

    // editing it shows an empty value, and leaving it empty keeps the value
    await page.getByRole('button', { name: 'Edit api_token' }).click();
    await expect(page.getByLabel('Value', { exact: true })).toHaveValue('');
    await expect(page.getByText('The current value is hidden.')).toBeVisible();
    await expect(page.getByLabel('Sensitive (write-only)')).toBeDisabled();
    await page.getByLabel('Description').fill('rotated monthly');
    let sent = await sentAttributes(page, 'PATCH',
        () => page.getByRole('button', { name: 'Save variable' }).click());
    expect(sent).not.toHaveProperty('value');
    await expect(token).toContainText('rotated monthly');
    // typing a value replaces it
    await page.getByRole('button', { name: 'Edit api_token' }).click();
    await page.getByLabel('Value', { exact: true }).fill('a-new-secret');
    sent = await sentAttributes(page, 'PATCH',
        () => page.getByRole('button', { name: 'Save variable' }).click());
    expect(sent.value).toBe('a-new-secret');
    await expect(page.getByRole('button', { name: 'Add variable' })).toBeVisible();
    await expect(page.locator('body')).not.toContainText('a-new-secret');

    // deleted, after a confirmation
    await region.getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('group', { name: 'Delete variable region?' }).getByRole('button', { name: 'Delete' }).click();
    await expect(region).toHaveCount(0);
    vars = await listVars(ws.id);
    expect(vars.map((v) => v.attributes.key)).toEqual(['api_token']);
    await expectAccessible(page);
    expectClean(page);
});

test('variables: a refused variable says why, and what runs receive includes variable sets', async ({ page }) => {
    const name = unique('ui-allvars');
    const ws = await createWorkspace(name);
    const { json: set } = await api('POST', '/api/v2/organizations/default/varsets', {
        body: { data: { type: 'varsets', attributes: { name: unique('set') } } },
    });
    await api('POST', `/api/v2/varsets/${set.data.id}/relationships/vars`, {
        body: { data: { type: 'vars', attributes: { key: 'from_set', value: 'shared', category: 'env' } } },
    });
    await api('POST', `/api/v2/varsets/${set.data.id}/relationships/workspaces`, {
        body: { data: [{ type: 'workspaces', id: ws.id }] },
    });
    await signIn(page, admin, `/app/default/workspaces/${name}/variables`);
    const all = page.getByTestId('all-vars');
    await expect(all.locator('tr', { hasText: 'from_set' })).toContainText(`Variable set ${set.data.id}`);
    await expect(all.locator('tr', { hasText: 'from_set' })).toContainText('shared');

    await page.getByRole('button', { name: 'Add variable' }).click();
    await page.getByLabel('Key', { exact: true }).fill('dup');
    await page.getByRole('button', { name: 'Add variable' }).click();
    await expect(page.locator('tr[data-var="dup"]')).toBeVisible();
    await page.getByRole('button', { name: 'Add variable' }).click();
    await page.getByLabel('Key', { exact: true }).fill('dup');
    await page.getByRole('button', { name: 'Add variable' }).click();
    await expect(page.getByRole('alert')).toContainText('has already been taken');
    expect((await listVars(ws.id)).length).toBe(1);
    expectClean(page);
});
