// Every administration and account page, as a platform admin: it shows
// what the API holds and passes the axe scan.
'use strict';
const { test, expect } = require('@playwright/test');
const { admin, api, unique } = require('./lib/instance');
const { signIn, expectClean, expectAccessible } = require('./lib/ui');

test('each page passes the accessibility scan', async ({ page }) => {
    const { json: pools } = await api('GET', '/api/terrapod/v1/agent-pools');
    const def = pools.data.find((p) => p.attributes.name === 'default');
    const { json: set } = await api('POST', '/api/v2/organizations/default/varsets', {
        body: { data: { type: 'varsets', attributes: { name: unique('ui-axe-set') } } },
    });
    await api('POST', `/api/v2/varsets/${set.data.id}/relationships/vars`, {
        body: { data: { type: 'vars', attributes: { key: 'token', value: 'x', category: 'env', sensitive: true } } },
    });
    await signIn(page, admin, '/app/admin/agent-pools');
    const pages = [
        ['/app/admin/agent-pools', 'Agent pools'],
        [`/app/admin/agent-pools/${def.id}`, 'default'],
        ['/app/admin/variable-sets', 'Variable sets'],
        [`/app/admin/variable-sets/${set.data.id}`, set.data.attributes.name],
        ['/app/admin/roles', 'Roles'],
        ['/app/admin/users', 'Users'],
        ['/app/admin/tokens', 'All tokens'],
        ['/app/admin/audit-log', 'Audit log'],
        ['/app/settings/tokens', 'My tokens'],
        ['/app/settings/sessions', 'Sessions'],
        ['/app/api', 'API'],
    ];
    for (const [path, heading] of pages) {
        await page.goto(path);
        await expect(page.getByRole('heading', { name: heading, level: 1 })).toBeVisible();
        await expect(page.getByText('Loading…')).toHaveCount(0);
        // open the forms, so that they are scanned too
        for (const summary of await page.locator('main details > summary').all()) {
            await summary.click();
        }
        await expectAccessible(page);
    }
    await page.goto('/app/settings/sessions');
    await expect(page.locator('tr', { hasText: 'this session' })).toBeVisible();
    expectClean(page);
});

test('the pool page names the workspaces that run on it', async ({ page }) => {
    const { json: pools } = await api('GET', '/api/terrapod/v1/agent-pools');
    const def = pools.data.find((p) => p.attributes.name === 'default');
    const { json: ws } = await api('POST', '/api/v2/organizations/default/workspaces', {
        body: { data: { type: 'workspaces', attributes: { name: unique('ui-pool-ws'), 'execution-mode': 'agent',
                                                          'agent-pool-id': def.id } } },
    });
    await signIn(page, admin, `/app/admin/agent-pools/${def.id}`);
    await expect(page.getByRole('region', { name: 'Workspaces on this pool' })
        .getByRole('link', { name: ws.data.attributes.name })).toBeVisible();
    // the instance's own listener
    await expect(page.locator('tr[data-listener="local"]')).toContainText('online');
    expectClean(page);
});
