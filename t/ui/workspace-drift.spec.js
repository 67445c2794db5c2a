// Drift in the UI: the badge in the workspace list, the drift card of the
// overview with the last checks (each linking to its drift run) and, for
// the workspace's admins, a check now whose refusal is shown. The checks
// are drift runs ended as a listener's report ends them (the status move
// that records the result).
'use strict';
const { test, expect } = require('@playwright/test');
const { admin, unique, createWorkspace } = require('./lib/instance');
const { signIn, expectClean, expectAccessible } = require('./lib/ui');
const { psql } = require('./lib/vcs');

/** A drift run of workspace id that ended with what its plan held. */
function driftRun(id, run, drifted, undrifted) {
    psql(`INSERT INTO runs (id, plan_id, apply_id, workspace_id, status, plan_only, is_drift_detection)
          VALUES (:'run', 'plan-' || :'run', 'apply-' || :'run', :'id', 'planning', true, true);
          UPDATE runs SET drift_resources_drifted = :'drifted', drift_resources_undrifted = :'undrifted',
                 status = 'planned_and_finished' WHERE id = :'run'`,
    { id, run, drifted: String(drifted), undrifted: String(undrifted) });
}

test('a drifted workspace: its badge, its last checks, and check now', async ({ page }) => {
    const prefix = unique('ui-drift');
    const ws = await createWorkspace(`${prefix}-net`, { 'drift-detection-enabled': true });
    const quiet = await createWorkspace(`${prefix}-dns`);
    driftRun(ws.id, `run-${prefix}-1`, 0, 3);
    driftRun(ws.id, `run-${prefix}-2`, 2, 1);

    await signIn(page, admin, `/app/default/workspaces?search=${prefix}`);
    const row = (/** @type {any} */ w) => page.locator(`tr[data-workspace="${w.attributes.name}"]`);
    await expect(row(ws).locator('th .badge[data-drift]')).toHaveText('Drifted');
    await expect(row(quiet).locator('th .badge')).toHaveCount(0);
    await expectAccessible(page);

    await row(ws).getByRole('link', { name: ws.attributes.name }).click();
    const card = page.getByRole('region', { name: 'Drift' });
    await expect(card.getByTestId('drift-state')).toContainText('Drifted');
    const checks = card.locator('tr[data-assessment]');
    await expect(checks).toHaveCount(2);
    await expect(checks.first()).toContainText('2 drifted, 1 not');
    await expect(checks.nth(1)).toContainText('No drift');
    await expectAccessible(page);

    // a local workspace without a state cannot be checked: the server says why
    await card.getByRole('button', { name: 'Check for drift now' }).click();
    await expect(card.getByRole('alert')).toContainText('cannot be checked for drift now');

    await checks.first().getByRole('link', { name: `run-${prefix}-2` }).click();
    await expect(page).toHaveURL(new RegExp(`/runs/run-${prefix}-2$`));

    await page.goto(`/app/default/workspaces/${quiet.attributes.name}`);
    await expect(page.getByRole('heading', { name: quiet.attributes.name, level: 1 })).toBeVisible();
    await expect(page.getByRole('region', { name: 'Drift' })).toHaveCount(0);
    expectClean(page);
});
