// VCS connections from the UI: a GitLab connection made through the form
// against the suite's fake GitLab, tested there (the repository's
// branches and tags, the health it records), its webhook secret set
// write-only, its failure when the provider is gone shown as its last
// error, and deleted; a GitHub App's private key never shown again.
'use strict';
const crypto = require('node:crypto');
const { test, expect } = require('@playwright/test');
const { admin, api, unique, baseURL } = require('./lib/instance');
const { signIn, expectClean, expectAccessible } = require('./lib/ui');
const { makeRepo, startGitLab } = require('./lib/vcs');

test('a GitLab connection: created, tested, its health and webhook, deleted', async ({ page }) => {
    const repo = makeRepo();
    const token = `glpat-${crypto.randomBytes(10).toString('hex')}`;
    const gitlab = await startGitLab({ token, project: 'group/infra', bare: repo.bare });
    const name = unique('ui-gitlab');
    try {
        await signIn(page, admin, '/app/admin/vcs-connections');
        await expect(page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'VCS connections' }))
            .toHaveAttribute('aria-current', 'page');
        await page.getByText('New connection', { exact: true }).click();
        const form = page.getByRole('form', { name: 'New connection' });
        await form.getByLabel('Name').fill(name);
        await form.getByLabel('Provider').selectOption('gitlab');
        await expect(form.getByLabel('App ID')).toHaveCount(0);
        await form.getByLabel('Server URL').fill(gitlab.base);
        await form.getByLabel('Token').fill(token);
        await form.getByRole('button', { name: 'Create connection' }).click();
        await expect(page.getByRole('heading', { name, level: 1 })).toBeVisible();
        const id = page.url().split('/').pop();
        await expect(page.getByText('Not used yet')).toBeVisible();

        // the webhook to set up on GitLab: this connection's address
        await expect(page.getByLabel('Webhook URL'))
            .toHaveValue(`${new URL(baseURL).origin}/api/terrapod/v1/vcs-events/gitlab?connection=${id}`);
        await expect(page.getByTestId('webhook-secret')).toContainText('None set');

        await page.getByLabel('Repository URL (optional)').fill(gitlab.repoUrl);
        await page.getByRole('button', { name: 'Test', exact: true }).click();
        const answer = page.locator('.notice');
        await expect(answer).toContainText('The connection works (as ci-bot)');
        await expect(answer).toContainText(`Default branch main at ${repo.sha.main.slice(0, 7)}`);
        await expect(answer).toContainText('2 branches, 1 tags');
        await expect(page.getByText('Working', { exact: true })).toBeVisible();
        const tested = (await api('GET', `/api/terrapod/v1/vcs-connections/${id}`)).json.data.attributes;
        expect(tested['last-success-at']).toBeTruthy();
        if (tested['rate-limit-remaining'] !== null) {
            await expect(page.getByText(`${tested['rate-limit-remaining']} requests left`)).toBeVisible();
        }

        // the webhook secret: sent once, then only said to be set
        const settings = page.getByRole('form', { name: 'Connection settings' });
        await expect(settings.getByLabel('Token')).toHaveValue('');
        await settings.getByLabel('Webhook secret').fill('hook-secret-ui');
        await settings.getByRole('button', { name: 'Save connection' }).click();
        await expect(page.getByTestId('webhook-secret')).toContainText("This connection's webhook secret");
        await expect(settings.getByLabel('Webhook secret')).toHaveValue('');
        const saved = (await api('GET', `/api/terrapod/v1/vcs-connections/${id}`)).json.data.attributes;
        expect(saved['has-webhook-secret']).toBe(true);
        expect(JSON.stringify(saved)).not.toContain(token);
        expect(await page.content()).not.toContain('hook-secret-ui');
        expect(await page.content()).not.toContain(token);
        await expectAccessible(page);

        // the provider gone: the test fails, and its error is the health
        await gitlab.stop();
        await page.getByRole('button', { name: 'Test', exact: true }).click();
        await expect(page.locator('p.error')).toBeVisible();
        await expect(page.getByText('Failing', { exact: true })).toBeVisible();
        await expect(page.getByTestId('last-error')).not.toHaveText('—');

        await page.getByRole('link', { name: 'VCS connections' }).first().click();
        const row = page.locator(`tr[data-connection="${name}"]`);
        await expect(row).toContainText('GitLab');
        await expect(row).toContainText('Active');
        await expect(row).toContainText('Failing');
        await expectAccessible(page);

        await row.getByRole('link', { name }).click();
        await page.getByRole('button', { name: 'Delete connection' }).click();
        await page.getByRole('button', { name: 'Delete it' }).click();
        await expect(page).toHaveURL(/\/app\/admin\/vcs-connections$/);
        await expect(page.locator(`tr[data-connection="${name}"]`)).toHaveCount(0);
        await api('GET', `/api/terrapod/v1/vcs-connections/${id}`, { expect: [404] });
        expectClean(page);
    } finally {
        await gitlab.stop();
        repo.remove();
    }
});

test("a GitHub App: the private key is write-only, a new one replaces it", async ({ page }) => {
    const pem = () => crypto.generateKeyPairSync('rsa', { modulusLength: 2048,
        privateKeyEncoding: { type: 'pkcs1', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } }).privateKey;
    const name = unique('ui-github');
    const installation = 700000 + Math.floor(Math.random() * 99999);
    const key = pem();
    await signIn(page, admin, '/app/admin/vcs-connections');
    await page.getByText('New connection', { exact: true }).click();
    const form = page.getByRole('form', { name: 'New connection' });
    await form.getByLabel('Name').fill(name);
    await form.getByLabel('App ID').fill('12345');
    await form.getByLabel('Installation ID').fill(String(installation));
    await form.getByLabel('Account login').fill('acme');
    await form.getByLabel('Account type').selectOption('User');
    await form.getByLabel('Private key (PEM)').fill(key);
    await form.getByRole('button', { name: 'Create connection' }).click();
    await expect(page.getByRole('heading', { name, level: 1 })).toBeVisible();
    const id = page.url().split('/').pop();
    await expect(page.getByLabel('Webhook URL')).toHaveValue(/\/vcs-events\/github\?connection=/);

    const settings = page.getByRole('form', { name: 'Connection settings' });
    await expect(settings.getByText('A private key is stored')).toBeVisible();
    await expect(settings.getByLabel('Private key (PEM)')).toHaveValue('');
    await expect(settings.getByLabel('Installation ID')).toHaveValue(String(installation));
    await expect(settings.getByLabel('Account type')).toHaveValue('User');
    const body = key.split('\n')[1];
    expect(await page.content()).not.toContain(body);

    // saved without a key: the stored one stays; a bad key is the server's 422
    await settings.getByLabel('Status').selectOption('disabled');
    await settings.getByRole('button', { name: 'Save connection' }).click();
    await expect(settings.getByRole('status')).toHaveText('Connection saved.');
    const a = (await api('GET', `/api/terrapod/v1/vcs-connections/${id}`)).json.data.attributes;
    expect(a.status).toBe('disabled');
    expect(JSON.stringify(a)).not.toContain(body);
    await settings.getByLabel('Private key (PEM)').fill('not a key');
    await settings.getByRole('button', { name: 'Save connection' }).click();
    await expect(settings.locator('p.error')).toContainText('private-key');
    await expectAccessible(page);

    await api('DELETE', `/api/terrapod/v1/vcs-connections/${id}`);
    expectClean(page);
});
