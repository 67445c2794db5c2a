// A workspace's run triggers and remote-state consumers on its settings
// tab: an admin adds a source and a consumer by name and removes them, a
// refusal says why, both sides show the link, and a reader sees the
// lists without a control.
'use strict';
const { test, expect } = require('@playwright/test');
const { admin, api, unique, createWorkspace } = require('./lib/instance');
const { signIn, expectClean, expectAccessible } = require('./lib/ui');
const { personWithLevel } = require('./lib/workspace');

test('run triggers and remote-state consumers: added, shown on both sides, removed', async ({ page }) => {
    const name = unique('ui-links');
    const source = unique('ui-links-src');
    const ws = await createWorkspace(name);
    await createWorkspace(source);
    const settings = (n) => `/app/default/workspaces/${n}/settings`;
    await signIn(page, admin, settings(name));

    const sources = page.getByRole('list', { name: 'Sources (inbound)' });
    await expect(page.getByText('No workspace triggers runs here.')).toBeVisible();
    await page.getByLabel('Source workspace').fill(source);
    await page.getByRole('button', { name: 'Add', exact: true }).first().click();
    await expect(sources.getByRole('link', { name: source })).toBeVisible();
    const inbound = await api('GET', `/api/v2/workspaces/${ws.id}/run-triggers?filter%5Brun-trigger%5D%5Btype%5D=inbound`);
    expect(inbound.json.data.map((t) => t.attributes['sourceable-name'])).toEqual([source]);

    // a refusal says why, and changes nothing
    await page.getByLabel('Source workspace').fill(name);
    await page.getByRole('button', { name: 'Add', exact: true }).first().click();
    await expect(page.getByRole('alert')).toContainText('cannot trigger its own runs');

    await page.getByLabel('Consumer workspace').fill(source);
    await page.getByRole('button', { name: 'Add', exact: true }).nth(1).click();
    await expect(page.getByRole('list', { name: 'Consumers' }).getByRole('link', { name: source }))
        .toBeVisible();
    await expectAccessible(page);

    // the other side shows both links
    await page.goto(settings(source));
    await expect(page.getByRole('list', { name: 'Destinations (outbound)' }).getByRole('link', { name }))
        .toBeVisible();
    await expect(page.getByRole('list', { name: 'Reads the state of' }).getByRole('link', { name }))
        .toBeVisible();

    await page.goto(settings(name));
    await page.getByRole('button', { name: `Remove ${source}` }).first().click();
    await expect(page.getByText('No workspace triggers runs here.')).toBeVisible();
    await page.getByRole('button', { name: `Remove ${source}` }).click();
    await expect(page.getByText('No workspace is listed.')).toBeVisible();
    const left = await api('GET', `/api/terrapod/v1/workspaces/${ws.id}/remote-state-consumers`);
    expect(left.json.data).toEqual([]);
    expectClean(page);
});

test('run triggers and remote-state consumers: a reader sees them without controls', async ({ page }) => {
    const name = unique('ui-links-ro');
    const source = unique('ui-links-ro-src');
    const ws = await createWorkspace(name);
    const src = await createWorkspace(source);
    await api('POST', `/api/v2/workspaces/${ws.id}/run-triggers`, { body: { data: { relationships: {
        sourceable: { data: { type: 'workspaces', id: src.id } } } } } });
    const reader = await personWithLevel(name, 'read');
    await signIn(page, reader, `/app/default/workspaces/${name}/settings`);
    await expect(page.getByRole('list', { name: 'Sources (inbound)' })).toContainText(source);
    await expect(page.getByLabel('Source workspace')).toHaveCount(0);
    await expect(page.getByLabel('Consumer workspace')).toHaveCount(0);
    await expect(page.getByRole('button', { name: /^Remove/ })).toHaveCount(0);
    await expectAccessible(page);
    expectClean(page);
});
