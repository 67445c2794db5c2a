// state-diverged (set when a listener could not store the state of an
// apply, t/api/101_state_diverged.t): the workspace page shows an alert
// banner while it is set; a workspace without it shows none.
'use strict';
const { test, expect } = require('@playwright/test');
const { admin, unique, createWorkspace } = require('./lib/instance');
const { signIn, expectClean, expectAccessible } = require('./lib/ui');
const { psql } = require('./lib/vcs');

test('a workspace whose state diverged carries an alert banner', async ({ page }) => {
    const prefix = unique('ui-diverged');
    const diverged = await createWorkspace(`${prefix}-a`);
    const fine = await createWorkspace(`${prefix}-b`);
    psql("UPDATE workspaces SET state_diverged = true WHERE id = :'id'", { id: diverged.id });

    await signIn(page, admin, `/app/default/workspaces/${diverged.attributes.name}`);
    const banner = page.getByRole('alert').filter({ hasText: 'The state has diverged' });
    await expect(banner).toBeVisible();
    await expect(banner).toContainText('its state could not be stored');
    await expectAccessible(page);

    await page.goto(`/app/default/workspaces/${fine.attributes.name}`);
    await expect(page.getByRole('heading', { name: fine.attributes.name, level: 1 })).toBeVisible();
    await expect(page.getByText('The state has diverged')).toHaveCount(0);
    expectClean(page);
});
