// A workspace's overview: what it shows, locking and unlocking it, and a
// person with read access only, who is offered no control and whose
// attempts through the API are refused.
'use strict';
const { test, expect } = require('@playwright/test');
const { admin, api, unique, createWorkspace, createUser, createRole, hasLiveEvents } =
    require('./lib/instance');
const { signIn, expectClean, expectAccessible } = require('./lib/ui');

test('the overview shows how the workspace runs; locking shows who holds the lock and why', async ({ page }) => {
    const name = unique('ui-ov');
    await createWorkspace(name, { 'execution-mode': 'agent', 'auto-apply': true,
                                  'terraform-version': '1.11.4', labels: { team: 'ov' } });
    await signIn(page, admin, `/app/default/workspaces/${name}`);
    await expect(page.getByRole('heading', { name, level: 1 })).toBeVisible();
    const facts = page.locator('dl.facts');
    await expect(facts).toContainText('Execution modeagent');
    await expect(facts).toContainText('Agent pooldefault');
    await expect(facts).toContainText('Terraform version1.11.4');
    await expect(facts).toContainText('Auto-applyOn');
    await expect(facts).toContainText(`Owner${admin.email}`);
    await expect(facts).toContainText('team=ov');
    await expect(page.getByTestId('lock-state')).toHaveText('Unlocked');
    await expectAccessible(page);

    await page.getByLabel('Reason').fill('maintenance window');
    await page.getByRole('button', { name: 'Lock' }).click();
    await expect(page.getByTestId('lock-state'))
        .toContainText(`Locked by ${admin.email} — maintenance window`);
    await expect(page.getByTestId('lock')).toHaveText(`Locked by ${admin.email} — maintenance window`);
    const { json } = await api('GET', `/api/v2/organizations/default/workspaces/${name}`);
    expect(json.data.attributes['lock-reason']).toBe('maintenance window');
    await expectAccessible(page);

    await page.getByRole('button', { name: 'Unlock', exact: true }).click();
    await expect(page.getByTestId('lock-state')).toHaveText('Unlocked');
    await expect(page.getByTestId('lock')).toHaveCount(0);
    expectClean(page);
});

test('a person with read access only sees no write controls, and the API refuses them', async ({ page }) => {
    const name = unique('ui-ro');
    const ws = await createWorkspace(name);
    await api('POST', `/api/v2/workspaces/${ws.id}/actions/lock`, { body: { reason: 'held' } });
    const role = unique('reader');
    await createRole(role, { 'workspace-permission': 'read', 'allow-names': [name] });
    const reader = await createUser(`${unique('ro')}@example.com`, 'Read-only-person-1', [role]);

    await signIn(page, reader, `/app/default/workspaces/${name}`);
    await expect(page.getByRole('heading', { name, level: 1 })).toBeVisible();
    await expect(page.getByTestId('lock-state')).toContainText(`Locked by ${admin.email} — held`);
    // what read access cannot do is not offered
    await expect(page.getByRole('button', { name: 'Lock' })).toHaveCount(0);
    await expect(page.getByRole('button', { name: 'Unlock' })).toHaveCount(0);
    await expect(page.getByRole('button', { name: 'Force unlock' })).toHaveCount(0);
    await expect(page.getByRole('navigation', { name: 'Main' }).getByText('Administration')).toHaveCount(0);
    await expectAccessible(page);

    // and the server refuses it when forced, with this browser's session
    // and its CSRF token, so the refusal is the role's
    const csrf = (await page.context().cookies()).find((c) => c.name === 'terrapod_csrf').value;
    for (const action of ['force-unlock', 'unlock']) {
        const res = await page.request.post(`/api/v2/workspaces/${ws.id}/actions/${action}`, {
            headers: { 'X-CSRF-Token': csrf, 'Content-Type': 'application/vnd.api+json' },
        });
        expect(res.status(), action).toBe(403);
        expect((await res.json()).errors[0].detail).toMatch(/needs (plan|admin) on workspace/);
    }
    const { json } = await api('GET', `/api/v2/workspaces/${ws.id}`);
    expect(json.data.attributes.locked).toBe(true);
    expectClean(page);
});

test('a lock taken elsewhere appears without a reload (live events)', async ({ page }) => {
    test.skip(!(await hasLiveEvents()), 'the server has no live event streams (404)');
    const name = unique('ui-live-lock');
    const ws = await createWorkspace(name);
    await signIn(page, admin, `/app/default/workspaces/${name}`);
    await expect(page.getByRole('status').filter({ hasText: 'Live' })).toBeVisible();
    await expect(page.getByTestId('lock-state')).toHaveText('Unlocked');
    await api('POST', `/api/v2/workspaces/${ws.id}/actions/lock`, { body: { reason: 'from the CLI' } });
    await expect(page.getByTestId('lock-state')).toContainText(`Locked by ${admin.email} — from the CLI`);
    // and in the list
    await page.goto(`/app/default/workspaces?search=${name}`);
    await expect(page.getByRole('status').filter({ hasText: 'Live' })).toBeVisible();
    await api('POST', `/api/v2/workspaces/${ws.id}/actions/unlock`);
    await expect(page.locator('tr', { hasText: name })).toContainText('Unlocked');
    expectClean(page);
});
