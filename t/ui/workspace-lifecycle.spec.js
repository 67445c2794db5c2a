// The lifecycle of workspaces autodiscovery made: one whose directory was
// removed (pending deletion) and one archived carry a badge in the list
// and a banner with the reason on their pages; an active one neither.
// The states are those autodiscovery's reconciliation writes.
'use strict';
const { test, expect } = require('@playwright/test');
const { admin, unique, createWorkspace } = require('./lib/instance');
const { signIn, expectClean, expectAccessible } = require('./lib/ui');
const { psql } = require('./lib/vcs');

function setLifecycle(id, state, reason) {
    psql("UPDATE workspaces SET lifecycle_state = :'state', lifecycle_reason = :'reason' WHERE id = :'id'",
        { id, state, reason });
}

test('pending deletion and archived: a badge in the list, a banner on the page', async ({ page }) => {
    const prefix = unique('ui-life');
    const pending = await createWorkspace(`${prefix}-dev`);
    const archived = await createWorkspace(`${prefix}-old`);
    const active = await createWorkspace(`${prefix}-prod`);
    setLifecycle(pending.id, 'pending_deletion', "directory 'envs/dev' removed on 'main'");
    setLifecycle(archived.id, 'archived', 'origin PR #14 closed unmerged; never applied — auto-archived');

    await signIn(page, admin, `/app/default/workspaces?search=${prefix}`);
    const row = (/** @type {any} */ ws) => page.locator(`tr[data-workspace="${ws.attributes.name}"]`);
    await expect(row(pending).locator('th .badge')).toHaveText('Pending deletion');
    await expect(row(archived).locator('th .badge')).toHaveText('Archived');
    await expect(row(active).locator('th .badge')).toHaveCount(0);
    await expectAccessible(page);

    await row(pending).getByRole('link', { name: pending.attributes.name }).click();
    await expect(page.getByTestId('lifecycle'))
        .toHaveText("Pending deletion: directory 'envs/dev' removed on 'main'");
    await page.getByRole('navigation', { name: 'Workspace' }).getByRole('link', { name: 'Settings' }).click();
    await expect(page.getByTestId('lifecycle')).toContainText('Pending deletion');
    await expectAccessible(page);

    await page.goto(`/app/default/workspaces/${archived.attributes.name}/runs`);
    await expect(page.getByTestId('lifecycle')).toContainText('Archived: origin PR #14 closed unmerged');
    await page.goto(`/app/default/workspaces/${active.attributes.name}`);
    await expect(page.getByRole('heading', { name: active.attributes.name, level: 1 })).toBeVisible();
    await expect(page.getByTestId('lifecycle')).toHaveCount(0);
    expectClean(page);
});
