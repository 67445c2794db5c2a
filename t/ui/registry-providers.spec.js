// The registry's provider and GPG key pages: a key made by gpg for the
// test is registered through the form, a provider created through its
// form, a version published by terrapod-publish shows with its signer and
// platform hashes; deleting the key that signed it asks again, and the
// version is deleted from its page.
'use strict';
const { test, expect } = require('@playwright/test');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { admin, api, unique, baseURL } = require('./lib/instance');
const { signIn, expectClean, expectAccessible } = require('./lib/ui');

const PUBLISH = path.join(__dirname, '..', '..', 'mod_terrapod', 'terrapod-publish');

/** A signing key in a gpg home of its own: {home, keyId, armor}. */
function gpgKey(name) {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'tp-ui-gpg-'));
    const gpg = (...args) => execFileSync('gpg', ['--homedir', home, '--batch', '--quiet',
        '--pinentry-mode', 'loopback', '--passphrase', '', ...args], { encoding: 'utf8' });
    gpg('--quick-gen-key', `${name} <${name}@test.local>`, 'ed25519', 'sign', 'never');
    const keyId = gpg('--with-colons', '--list-keys').match(/^pub:[^:]*:[^:]*:[^:]*:([0-9A-F]{16}):/m)[1];
    return { home, keyId, armor: gpg('--armor', '--export', keyId) };
}

/** Publishes version 1.0.0 of name for linux_amd64 with terrapod-publish. */
function publish(name, key) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tp-ui-release-'));
    const bin = `terraform-provider-${name}_v1.0.0`;
    fs.writeFileSync(path.join(dir, bin), '#!/bin/sh\n', { mode: 0o755 });
    const zip = path.join(dir, `terraform-provider-${name}_1.0.0_linux_amd64.zip`);
    execFileSync('zip', ['-q', '-j', zip, path.join(dir, bin)]);
    execFileSync(PUBLISH, ['provider', '--url', baseURL, '--name', name, '--version', '1.0.0',
                           '--key', key.keyId, '--ca-file', process.env.TERRAPOD_CA_FILE, zip],
                 { env: { ...process.env, GNUPGHOME: key.home, TERRAPOD_TOKEN: admin.token } });
}

test('keys, providers, versions', async ({ page }) => {
    test.setTimeout(120000);
    const key = gpgKey(unique('ui-signer'));
    const name = unique('uiprov').replace(/[^a-z0-9-]/g, '');
    try {
        expectClean(page);
        await signIn(page, admin, '/app/default/registry/gpg-keys');
        await expect(page.getByRole('heading', { name: 'GPG keys', level: 1 })).toBeVisible();
        await page.getByText('Register a GPG key', { exact: true }).click();
        await page.getByLabel(/ASCII-armoured public key/).fill(key.armor);
        await page.getByRole('button', { name: 'Register key' }).click();
        const keyRow = page.locator('tr', { hasText: key.keyId });
        await expect(keyRow).toBeVisible();
        await expectAccessible(page);
        // a private key is refused with the server's reason
        await page.getByLabel(/ASCII-armoured public key/).fill('-----BEGIN PGP PRIVATE KEY BLOCK-----\n');
        await page.getByRole('button', { name: 'Register key' }).click();
        await expect(page.getByText(/this is a private key/)).toBeVisible();

        await page.getByRole('link', { name: 'Providers' }).click();
        await expect(page.getByRole('heading', { name: 'Providers', level: 1 })).toBeVisible();
        await page.getByText('New provider', { exact: true }).click();
        await page.getByLabel('Name').fill(name);
        await page.getByLabel('Labels').fill('team=ui');
        await page.getByRole('button', { name: 'Create provider' }).click();
        await page.getByRole('link', { name }).click();
        await expect(page.getByRole('heading', { name, level: 1 })).toBeVisible();
        await expect(page.getByText(`source = "${new URL(baseURL).host}/default/${name}"`)).toBeVisible();
        await expect(page.getByText('No version published yet')).toBeVisible();
        await expectAccessible(page);

        publish(name, key);
        await page.reload();
        const version = page.getByRole('region', { name: '1.0.0' });
        await expect(version).toContainText(`Signed by GPG key ${key.keyId}`);
        const platform = version.locator('tr', { hasText: 'linux_amd64' });
        await expect(platform).toContainText(`terraform-provider-${name}_1.0.0_linux_amd64.zip`);
        await expect(platform).toContainText(/h1:[A-Za-z0-9+/]{43}=/);
        await expectAccessible(page);

        // the key signed a published version: removing it is asked again
        await page.goto('/app/default/registry/gpg-keys');
        await keyRow.getByRole('button', { name: `Remove key ${key.keyId}`, exact: true }).click();
        await keyRow.getByRole('button', { name: 'Remove it', exact: true }).click();
        await expect(keyRow).toContainText(/signed 1 published provider version/);
        await keyRow.getByRole('button', { name: `Remove key ${key.keyId} anyway` }).click();
        await keyRow.getByRole('button', { name: 'Remove it anyway' }).click();
        await expect(page.locator('tr', { hasText: key.keyId })).toHaveCount(0);
        const keys = await api('GET', '/api/terrapod/v1/gpg-keys');
        expect(keys.json.data.map((k) => k.attributes['key-id'])).not.toContain(key.keyId);

        await page.goto(`/app/default/registry/providers/${name}`);
        await page.getByRole('button', { name: 'Delete version 1.0.0' }).click();
        await page.getByRole('button', { name: 'Delete it' }).click();
        await expect(page.getByText('No version published yet')).toBeVisible();
        const versions = await api('GET', `/api/terrapod/v1/registry-providers/private/default/${name}/versions`);
        expect(versions.json.data).toEqual([]);
    } finally {
        execFileSync('gpgconf', ['--homedir', key.home, '--kill', 'gpg-agent']);
        await api('DELETE', `/api/terrapod/v1/registry-providers/private/default/${name}`,
                  { expect: [204, 404] });
    }
});
