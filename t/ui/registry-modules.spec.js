// The module registry's pages: a module created with the form, versions
// published over the API shown with their inputs, outputs and README
// (any version chosen), the usage snippet, a workspace linked and
// unlinked, a version and the module deleted; someone who may only read
// the module sees no controls.
'use strict';
const { test, expect } = require('@playwright/test');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { admin, baseURL, unique, createWorkspace, createUser, createRole } = require('./lib/instance');
const { signIn, expectClean, expectAccessible } = require('./lib/ui');
const { acceptDialogs, PASSWORD } = require('./lib/admin');

/** A module's gzip tarball: one variable and one output, a README. */
function moduleTarball(version) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tp-ui-module-'));
    fs.writeFileSync(path.join(dir, 'main.tf'),
        `variable "cidr" {\n  type        = string\n  description = "The network's CIDR"\n}\n`
        + `output "id" {\n  description = "The network's id"\n  value       = "net-${version}"\n}\n`);
    fs.writeFileSync(path.join(dir, 'README.md'), `# Network ${version}\n`);
    return execFileSync('tar', ['-czf', '-', '-C', dir, '.']);
}

async function publish(name, provider, version) {
    const res = await fetch(new URL(`/api/terrapod/v1/registry-modules/private/default/${name}/${provider}`
                                    + `/versions/${version}/upload`, baseURL), {
        method: 'PUT', headers: { Authorization: `Bearer ${admin.token}` }, body: moduleTarball(version),
    });
    expect(res.status).toBe(201);
}

test('create, publish, read, link, delete', async ({ page }) => {
    const name = unique('net');
    const ws = await createWorkspace(unique('ui-mod-ws'));
    acceptDialogs(page);
    await signIn(page, admin, '/app/default/registry/modules');
    await expect(page.getByRole('heading', { name: 'Modules', level: 1 })).toBeVisible();
    await page.getByText('New module', { exact: true }).click();
    await page.getByLabel('Name', { exact: true }).fill(name);
    await page.getByLabel('Provider').fill('aws');
    await page.getByLabel('Labels').fill('team=ui');
    await page.getByRole('button', { name: 'Create module' }).click();
    await expect(page.getByRole('heading', { name: `${name}/aws`, level: 1 })).toBeVisible();
    await expect(page.getByText('No version published yet.')).toBeVisible();
    await expect(page.getByText('team=ui')).toBeVisible();

    await publish(name, 'aws', '1.0.0');
    await publish(name, 'aws', '1.1.0');
    await page.reload();
    const versions = page.getByRole('region', { name: 'Versions' });
    await expect(versions.getByRole('row')).toHaveCount(3);
    await expect(versions.getByRole('row').nth(1)).toContainText('1.1.0');
    await expect(page.getByRole('heading', { name: 'Version 1.1.0' })).toBeVisible();
    await expect(page.getByLabel('Usage')).toContainText(`/default/${name}/aws"`);
    await expect(page.getByLabel('Usage')).toContainText('version = "1.1.0"');
    const detail = page.getByRole('region', { name: 'Version 1.1.0' });
    await expect(detail.getByRole('row', { name: /cidr/ })).toContainText("The network's CIDR");
    await expect(detail.getByRole('row', { name: /cidr/ })).toContainText('string');
    await expect(detail.getByRole('row', { name: /^id/ })).toContainText("The network's id");
    await expect(detail.getByText('# Network 1.1.0')).toBeVisible();
    await page.getByRole('button', { name: 'Show 1.0.0' }).click();
    await expect(page.getByRole('region', { name: 'Version 1.0.0' }).getByText('# Network 1.0.0')).toBeVisible();
    await expectAccessible(page);

    const links = page.getByRole('region', { name: 'Linked workspaces' });
    await expect(links.getByText('No workspace is linked.')).toBeVisible();
    await links.getByLabel('Workspace').selectOption(ws.id);
    await links.getByRole('button', { name: 'Link' }).click();
    await expect(links.getByRole('link', { name: ws.attributes.name })).toBeVisible();
    await links.getByRole('button', { name: `Unlink ${ws.attributes.name}` }).click();
    await expect(links.getByText('No workspace is linked.')).toBeVisible();

    await versions.getByRole('button', { name: 'Delete 1.0.0' }).click();
    await expect(versions.getByRole('row')).toHaveCount(2);
    await page.getByRole('button', { name: 'Delete module' }).click();
    await expect(page).toHaveURL(/\/app\/default\/registry\/modules$/);
    await expect(page.getByRole('link', { name: `${name}/aws` })).toHaveCount(0);
    expectClean(page);
});

test('a reader sees the module without controls', async ({ page }) => {
    const name = unique('ro');
    const role = unique('mod-readers');
    const email = `${unique('mod-reader')}@test.local`;
    await createRole(role, { 'registry-permission': 'read', 'allow-names': [name] });
    const reader = await createUser(email, PASSWORD, [role]);
    const res = await fetch(new URL('/api/terrapod/v1/registry-modules', baseURL), {
        method: 'POST',
        headers: { Authorization: `Bearer ${admin.token}`, 'Content-Type': 'application/vnd.api+json' },
        body: JSON.stringify({ data: { type: 'registry-modules',
                                       attributes: { name, provider: 'aws', 'registry-name': 'private' } } }),
    });
    expect(res.status).toBe(201);
    await publish(name, 'aws', '0.1.0');
    await signIn(page, reader, '/app/default/registry/modules');
    await page.getByRole('link', { name: `${name}/aws` }).click();
    await expect(page.getByRole('heading', { name: 'Version 0.1.0' })).toBeVisible();
    await expect(page.getByRole('button', { name: /Delete/ })).toHaveCount(0);
    await expect(page.getByRole('button', { name: 'Link' })).toHaveCount(0);
    await expectAccessible(page);
    expectClean(page);
});
