// A workspace's state tab: outputs with sensitive values hidden, the
// versions, rollback, deleting an old version, and a diff of two.
'use strict';
const { test, expect } = require('@playwright/test');
const fs = require('node:fs');
const { admin, api, unique, createWorkspace } = require('./lib/instance');
const { signIn, expectClean, expectAccessible } = require('./lib/ui');
const { stateOf, uploadState } = require('./lib/workspace');

async function currentSerial(wsId) {
    return (await api('GET', `/api/v2/workspaces/${wsId}/current-state-version`)).json.data.attributes.serial;
}

test('state: rolling back to an older version makes it current as a new serial', async ({ page }) => {
    const name = unique('ui-state');
    const ws = await createWorkspace(name);
    await uploadState(ws.id, stateOf(1, { greeting: 'first' }));
    await uploadState(ws.id, stateOf(2, { greeting: 'second' }));
    expect(await currentSerial(ws.id)).toBe(2);

    await signIn(page, admin, `/app/default/workspaces/${name}/state`);
    const outputs = page.getByTestId('outputs');
    await expect(outputs).toContainText('second');
    const one = page.locator('tr[data-serial="1"]');
    await expect(page.locator('tr[data-serial="2"]')).toContainText('Current');
    await expect(one).not.toContainText('Current');
    await expect(page.locator('tr[data-serial="2"]').getByRole('button', { name: 'Roll back to this' })).toHaveCount(0);
    await expectAccessible(page);

    await one.getByRole('button', { name: 'Roll back to this' }).click();
    await one.getByRole('button', { name: 'Roll back', exact: true }).click();
    await expect(page.locator('tr[data-serial="3"]')).toContainText('Current');
    await expect(outputs).toContainText('first');
    expect(await currentSerial(ws.id)).toBe(3);
    const out = (await api('GET', `/api/v2/workspaces/${ws.id}/current-state-version-outputs`)).json.data;
    expect(out.map((o) => o.attributes.value)).toEqual(['first']);
    expectClean(page);
});

test('state: a diff of two versions, sensitive values hidden, and deleting an old version', async ({ page }) => {
    const name = unique('ui-statediff');
    const ws = await createWorkspace(name);
    const first = stateOf(1, { color: 'blue' });
    const second = stateOf(2, { color: 'green' });
    second.outputs.password = { value: 'hunter2-secret', type: 'string', sensitive: true };
    await uploadState(ws.id, first);
    await uploadState(ws.id, second);

    await signIn(page, admin, `/app/default/workspaces/${name}/state`);
    await expect(page.getByTestId('outputs').locator('tr', { hasText: 'password' }))
        .toContainText('Sensitive: hidden');
    await page.getByLabel('From', { exact: true }).selectOption({ label: 'Serial 1' });
    await page.getByLabel('To', { exact: true }).selectOption({ label: 'Serial 2' });
    await page.getByRole('button', { name: 'Compare' }).click();
    const diff = page.getByTestId('state-diff');
    await expect(diff.locator('del', { hasText: '"value": "blue"' })).toBeVisible();
    await expect(diff.locator('ins', { hasText: '"value": "green"' })).toBeVisible();
    await expect(diff.locator('del', { hasText: '"serial": 1' })).toBeVisible();
    await expect(diff.locator('ins', { hasText: '"serial": 2' })).toBeVisible();
    await expect(diff).toContainText('(sensitive value)');
    await expect(page.locator('body')).not.toContainText('hunter2-secret');
    await expectAccessible(page);

    // the same version on both sides
    await page.getByLabel('From', { exact: true }).selectOption({ label: 'Serial 2' });
    await page.getByRole('button', { name: 'Compare' }).click();
    await expect(page.getByText('The two versions hold the same state.')).toBeVisible();

    // the current version cannot be deleted; an old one can
    await expect(page.locator('tr[data-serial="2"]').getByRole('button', { name: 'Delete' })).toHaveCount(0);
    const one = page.locator('tr[data-serial="1"]');
    await one.getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('group', { name: 'Delete state version serial 1 for good?' })
        .getByRole('button', { name: 'Delete' }).click();
    await expect(one).toHaveCount(0);
    const left = (await api('GET', `/api/v2/workspaces/${ws.id}/state-versions`)).json.data;
    expect(left.map((v) => v.attributes.serial)).toEqual([2]);
    expectClean(page);
});

test('state: the download is the stored state', async ({ page }) => {
    const name = unique('ui-statedl');
    const ws = await createWorkspace(name);
    await uploadState(ws.id, stateOf(1, { a: 'b' }));
    await signIn(page, admin, `/app/default/workspaces/${name}/state`);
    const [download] = await Promise.all([
        page.waitForEvent('download'),
        page.locator('tr[data-serial="1"]').getByRole('link', { name: /Download/ }).click(),
    ]);
    expect(download.suggestedFilename()).toBe('state-1.tfstate');
    const path = await download.path();
    const state = JSON.parse(fs.readFileSync(path, 'utf8'));
    expect(state).toMatchObject({ serial: 1, outputs: { a: { value: 'b' } } });
    expectClean(page);
});
