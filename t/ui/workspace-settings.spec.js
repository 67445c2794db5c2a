// A workspace's settings tab: the form saves what changed, a refusal says
// why, a label change that would lock the editor out is confirmed first,
// and deleting.
'use strict';
const { test, expect } = require('@playwright/test');
const { admin, api, unique, createWorkspace, createUser, createRole } = require('./lib/instance');
const { signIn, expectClean, expectAccessible } = require('./lib/ui');
const { uploadState } = require('./lib/workspace');

async function attributes(wsId) {
    return (await api('GET', `/api/v2/workspaces/${wsId}`)).json.data.attributes;
}

test('settings: the form saves what changed, and a rename follows the workspace', async ({ page }) => {
    const name = unique('ui-set');
    const ws = await createWorkspace(name, { 'execution-mode': 'agent' });
    await signIn(page, admin, `/app/default/workspaces/${name}/settings`);
    await expect(page.getByLabel('Name', { exact: true })).toHaveValue(name);
    await expect(page.getByRole('button', { name: 'Save settings' })).toBeDisabled();
    await expectAccessible(page);

    await page.getByLabel('Description').fill('made in the browser');
    await page.getByLabel('Version').fill('~> 1.11');
    await page.getByLabel('Working directory').fill('infra/prod');
    await page.getByLabel('Apply automatically when a plan succeeds').check();
    await page.getByLabel('Check for drift regularly').check();
    await page.getByLabel('Interval in seconds').fill('7200');
    await page.getByLabel('Ignore rules').fill('aws_instance.web.tags\naws_s3_bucket.*.acl');
    await page.getByLabel('Backend').selectOption('tofu');
    const [req] = await Promise.all([
        page.waitForRequest((r) => r.method() === 'PATCH'),
        page.getByRole('button', { name: 'Save settings' }).click(),
    ]);
    // only what changed is sent
    expect(Object.keys(JSON.parse(req.postData()).data.attributes).sort()).toEqual([
        'auto-apply', 'description', 'drift-detection-enabled', 'drift-detection-interval-seconds',
        'drift-ignore-rules', 'execution-backend', 'terraform-version', 'working-directory']);
    await expect(page.getByText('Settings saved.')).toBeVisible();
    expect(await attributes(ws.id)).toMatchObject({
        description: 'made in the browser', 'terraform-version': '~> 1.11', 'working-directory': 'infra/prod',
        'auto-apply': true, 'drift-detection-enabled': true, 'drift-detection-interval-seconds': 7200,
        'drift-ignore-rules': ['aws_instance.web.tags', 'aws_s3_bucket.*.acl'], 'execution-backend': 'tofu',
    });

    // a refusal names its reason, and nothing changes
    await page.getByLabel('Interval in seconds').fill('60');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await expect(page.getByRole('alert')).toContainText('at least 3600');
    expect((await attributes(ws.id))['drift-detection-interval-seconds']).toBe(7200);
    await page.getByLabel('Interval in seconds').fill('7200');

    // local execution hides the pool
    await expect(page.getByLabel('Agent pool')).toBeVisible();
    await page.getByLabel('Execution mode').selectOption('local');
    await expect(page.getByLabel('Agent pool')).toHaveCount(0);

    const renamed = `${name}-b`;
    await page.getByLabel('Name', { exact: true }).fill(renamed);
    await page.getByRole('button', { name: 'Save settings' }).click();
    await expect(page).toHaveURL(new RegExp(`/app/default/workspaces/${renamed}/settings$`));
    await expect(page.getByRole('heading', { name: renamed, level: 1 })).toBeVisible();
    expect(await attributes(ws.id)).toMatchObject({ name: renamed, 'execution-mode': 'local' });
    expectClean(page);
});

test('settings: a label change that would lower the editor\'s own access is confirmed first', async ({ page }) => {
    const name = unique('ui-lockout');
    const ws = await createWorkspace(name, { labels: { env: 'dev', team: 'core' } });
    // an admin of dev workspaces, by label, who does not own this one
    const role = unique('dev-admin');
    await createRole(role, { 'workspace-permission': 'admin', 'allow-labels': { env: 'dev' } });
    const editor = await createUser(`${unique('dev-admin')}@example.com`, `Pw-${unique('x')}-9z`, [role]);

    await signIn(page, editor, `/app/default/workspaces/${name}/settings`);
    await expect(page.getByLabel('Label 1 key')).toHaveValue('env');
    // a harmless change saves at once
    await page.getByRole('button', { name: 'Add label' }).click();
    await page.getByLabel('Label 3 key').fill('cost-centre');
    await page.getByLabel('Label 3 value').fill('42');
    await page.getByRole('button', { name: 'Save labels' }).click();
    await expect(page.getByText('Labels saved.')).toBeVisible();
    expect((await attributes(ws.id)).labels).toEqual({ env: 'dev', team: 'core', 'cost-centre': '42' });

    // the form shows the labels as stored, keys sorted
    await expect(page.getByLabel('Label 1 key')).toHaveValue('cost-centre');
    await expect(page.getByLabel('Label 2 key')).toHaveValue('env');
    // relabelled prod, the editor would lose admin: the server asks first
    await page.getByLabel('Label 2 value').fill('prod');
    await page.getByRole('button', { name: 'Save labels' }).click();
    const ask = page.getByRole('alertdialog');
    await expect(ask).toContainText('would lower your access');
    await expectAccessible(page);
    await ask.getByRole('button', { name: 'Keep the labels' }).click();
    await expect(ask).toHaveCount(0);
    expect((await attributes(ws.id)).labels.env).toBe('dev');

    await page.getByRole('button', { name: 'Save labels' }).click();
    await page.getByRole('alertdialog').getByRole('button', { name: 'Change labels anyway' }).click();
    await expect.poll(async () => (await attributes(ws.id)).labels.env).toBe('prod');
    // the editor no longer sees the workspace at all
    await expect(page.getByText('Not found, or not yours to see.')).toBeVisible();
    expectClean(page);
});

test('settings: safe delete is refused while state holds resources; deleting goes back to the list', async ({ page }) => {
    const name = unique('ui-del');
    const ws = await createWorkspace(name);
    const state = { version: 4, serial: 1, lineage: 'l', outputs: {}, resources: [{
        mode: 'managed', type: 'terraform_data', name: 'x', provider: 'provider["terraform.io/builtin/terraform"]',
        instances: [{ schema_version: 0, attributes: { id: 'a' } }] }] };
    await uploadState(ws.id, state);
    await signIn(page, admin, `/app/default/workspaces/${name}/settings`);
    const zone = page.getByRole('region', { name: 'Delete this workspace' });
    await expect(zone.getByRole('button', { name: 'Safe delete' })).toBeDisabled();
    await zone.getByLabel(`Type ${name} to confirm`).fill(name);
    await zone.getByRole('button', { name: 'Safe delete' }).click();
    await expect(zone.getByRole('alert')).toContainText('has state with resources');
    await api('GET', `/api/v2/workspaces/${ws.id}`);

    await zone.getByRole('button', { name: 'Delete, resources or not' }).click();
    await expect(page).toHaveURL(/\/app\/default\/workspaces$/);
    await api('GET', `/api/v2/workspaces/${ws.id}`, { expect: [404] });
    expectClean(page);
});
