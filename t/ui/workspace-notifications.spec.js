// A workspace's notifications in its settings: an admin adds one, a
// refusal says why, verify shows the delivery's result in the history
// (here the outbound guard refusing a loopback receiver), disabling and
// deleting; a reader sees them without the buttons.
'use strict';
const { test, expect } = require('@playwright/test');
const { admin, api, unique, createWorkspace } = require('./lib/instance');
const { signIn, expectAccessible } = require('./lib/ui');

test('notifications: add, refuse, verify with its history, disable, delete', async ({ page }) => {
    const name = unique('ui-nc');
    const ws = await createWorkspace(name);
    await signIn(page, admin, `/app/default/workspaces/${name}/settings`);
    const section = page.getByRole('region', { name: 'Notifications' });
    await expect(section.getByText('No notification configurations.')).toBeVisible();

    // a literal loopback address is refused at once, with the reason
    await section.getByLabel('Notification name').fill('hooks');
    await section.getByLabel('Destination URL').fill('http://127.0.0.1:9/hook');
    await section.getByLabel('run:completed').check();
    await section.getByRole('button', { name: 'Add notification' }).click();
    await expect(section.getByRole('alert')).toContainText('loopback');

    // a name is checked when it is reached
    await section.getByLabel('Destination URL').fill('http://localhost:9/hook');
    await section.getByLabel('Token (signs each payload)').fill('ui-secret');
    await section.getByRole('button', { name: 'Add notification' }).click();
    const card = section.getByRole('article', { name: 'Notification hooks' });
    await expect(card).toContainText('signed');
    await expect(card).toContainText('run:completed');
    await expectAccessible(page);
    const list = (await api('GET', `/api/v2/workspaces/${ws.id}/notification-configurations`)).json.data;
    expect(list).toHaveLength(1);
    expect(list[0].attributes).toMatchObject({ 'has-token': true, triggers: ['run:completed'], enabled: true });

    await card.getByRole('button', { name: 'Verify' }).click();
    const history = card.getByRole('table', { name: 'Last deliveries of hooks' });
    await expect(history).toContainText('verification');
    await expect(history).toContainText('failed');
    await expect(history).toContainText('loopback');

    await card.getByRole('button', { name: 'Disable' }).click();
    await expect(card).toContainText('disabled');
    await card.getByRole('button', { name: 'Delete' }).click();
    await expect(section.getByText('No notification configurations.')).toBeVisible();
});
