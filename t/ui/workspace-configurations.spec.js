// A workspace's configurations tab: the versions, the one the last apply
// used marked current, a download through a ticket, and a side-by-side
// diff of two versions.
'use strict';
const { test, expect } = require('@playwright/test');
const { execFileSync } = require('node:child_process');
const { admin, unique, createWorkspace, until, runStatus } = require('./lib/instance');
const { signIn, expectClean, expectAccessible } = require('./lib/ui');
const { uploadFiles } = require('./lib/workspace');
const { queueRun } = require('./lib/terraform');

test('configurations: versions, a download, and a side-by-side diff', async ({ page }) => {
    const name = unique('ui-cv');
    const ws = await createWorkspace(name);
    const older = await uploadFiles(ws.id, {
        'main.tf': 'output "greeting" {\n  value = "hello"\n}\n\noutput "same" {\n  value = 1\n}\n',
        'gone.tf': 'locals {\n  x = 1\n}\n',
    });
    const newer = await uploadFiles(ws.id, {
        'main.tf': 'output "greeting" {\n  value = "goodbye"\n}\n\noutput "same" {\n  value = 1\n}\n',
        'modules/new.tf': 'locals {\n  y = 2\n}\n',
    });
    await signIn(page, admin, `/app/default/workspaces/${name}/configurations`);
    await expect(page.locator(`tr[data-cv="${older}"]`)).toContainText('uploaded');
    await expect(page.locator(`tr[data-cv="${newer}"]`)).toContainText('uploaded');
    await expect(page.getByText('Current')).toHaveCount(0);

    // the download: a ticket, then the tarball it opens
    const [download] = await Promise.all([
        page.waitForEvent('download'),
        page.locator(`tr[data-cv="${older}"]`).getByRole('button', { name: /Download/ }).click(),
    ]);
    expect(download.suggestedFilename()).toBe(`${older}.tar.gz`);
    const listing = execFileSync('tar', ['-tzf', await download.path()], { encoding: 'utf8' });
    expect(listing).toContain('gone.tf');

    await page.getByLabel('From', { exact: true }).selectOption(older);
    await page.getByLabel('To', { exact: true }).selectOption(newer);
    await page.getByRole('button', { name: 'Compare' }).click();
    const diff = page.getByTestId('cv-diff');
    await expect(diff.getByRole('status')).toHaveText('3 files changed.');
    const main = diff.getByRole('region', { name: 'main.tf' });
    await expect(main).toContainText('Modified');
    // the changed line faces its replacement on one row
    const changed = main.locator('tr', { has: page.locator('del', { hasText: 'value = "hello"' }) });
    await expect(changed.locator('ins')).toHaveText(/value = "goodbye"/);
    await expect(diff.getByRole('region', { name: 'gone.tf' })).toContainText('Removed');
    await expect(diff.getByRole('region', { name: 'modules/new.tf' })).toContainText('Added');
    await expectAccessible(page);
    expectClean(page);
});

test('configurations: the version of the last successful apply is current', async ({ page }) => {
    const name = unique('ui-cv-current');
    const ws = await createWorkspace(name, { 'execution-mode': 'agent', 'auto-apply': true });
    const applied = await uploadFiles(ws.id, { 'main.tf': 'output "n" {\n  value = 1\n}\n' });
    // the instance's listener runs it with terraform
    const run = await queueRun(ws.id, applied, { 'auto-apply': true });
    await until(150, 'the run to apply', async () => (await runStatus(run)) === 'applied');
    const later = await uploadFiles(ws.id, { 'main.tf': 'output "n" {\n  value = 2\n}\n' });
    await signIn(page, admin, `/app/default/workspaces/${name}/configurations`);
    await expect(page.locator(`tr[data-cv="${applied}"]`)).toContainText('Current');
    await expect(page.locator(`tr[data-cv="${later}"]`)).not.toContainText('Current');
    expectClean(page);
});
