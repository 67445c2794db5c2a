// The binary cache page, as a platform admin: a cached release (recorded
// in the database as a fetch would, for this instance has no releases
// server) is listed with its platform, size and SHA-256; a fetch the
// server refuses shows its reason; removing the
// release asks again and empties the list.
'use strict';
const { test, expect } = require('@playwright/test');
const { admin, api, unique } = require('./lib/instance');
const { signIn, expectClean, expectAccessible } = require('./lib/ui');
const { psql } = require('./lib/vcs');

test('list, fetch, remove', async ({ page }) => {
    const version = `1.${Date.now() % 100000}.0`;
    const sha = 'ab'.repeat(32);
    psql(`INSERT INTO binary_cache (id, tool, version, os, arch, filename, shasum, size)
          VALUES (:'id', 'terraform', :'version', 'linux', 'amd64', :'file', :'sha', 2097152)`,
         { id: unique('bin'), version, file: `terraform_${version}_linux_amd64.zip`, sha });
    try {
        expectClean(page);
        await signIn(page, admin, '/app/admin/binary-cache');
        await expect(page.getByRole('heading', { name: 'Binary cache', level: 1 })).toBeVisible();
        const row = page.locator('tr', { hasText: `terraform ${version}` });
        await expect(row).toContainText('linux_amd64');
        await expect(row).toContainText('2.0 MiB');
        await expect(row).toContainText(sha);

        await page.getByText('Fetch a release', { exact: true }).click();
        await page.getByLabel('Tool').selectOption('tofu');
        await page.getByLabel('Version').fill('latest');
        await expectAccessible(page);
        await page.getByRole('button', { name: 'Fetch release' }).click();
        await expect(page.getByText(/version must be a release's version/)).toBeVisible();

        await row.getByRole('button', { name: `Remove terraform ${version} (linux_amd64)` }).click();
        await row.getByRole('button', { name: 'Remove it', exact: true }).click();
        await expect(page.locator('tr', { hasText: `terraform ${version}` })).toHaveCount(0);
        const { json } = await api('GET', '/api/terrapod/v1/admin/binary-cache');
        expect(json.data.map((e) => e.attributes.version)).not.toContain(version);
    } finally {
        psql(`DELETE FROM binary_cache WHERE version = :'version'`, { version });
    }
});
