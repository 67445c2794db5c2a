// Autodiscovery rules from the UI, against the suite's fake GitLab with a
// repository of two environments and a module: the preview of a rule not
// saved yet, the rule created, scanned (its workspaces made), previewed
// again (each now its own), changed, a repository too large to scan, and
// the rule deleted with its workspaces kept.
'use strict';
const crypto = require('node:crypto');
const { test, expect } = require('@playwright/test');
const { admin, api, unique } = require('./lib/instance');
const { signIn, expectClean, expectAccessible } = require('./lib/ui');
const { makeRepo, startGitLab, createGitLabConnection } = require('./lib/vcs');

test('a rule: previewed unsaved, created, scanned, previewed, changed, deleted', async ({ page }) => {
    const repo = makeRepo({
        'envs/dev/main.tf': 'output "env" { value = "dev" }\n',
        'envs/prod/main.tf': 'output "env" { value = "prod" }\n',
        'modules/net/main.tf': 'variable "cidr" {}\n',
    });
    const token = `glpat-${crypto.randomBytes(10).toString('hex')}`;
    const gitlab = await startGitLab({ token, project: 'group/mono', bare: repo.bare });
    const conn = await createGitLabConnection(unique('ui-ad-gitlab'), gitlab.base, token);
    const name = unique('ui-rule');
    try {
        await signIn(page, admin, '/app/admin/autodiscovery-rules');
        await page.getByText('New rule', { exact: true }).click();
        const form = page.getByRole('form', { name: 'New rule' });
        await form.getByLabel('Name', { exact: true }).fill(name);
        await form.getByLabel('Connection').selectOption({ label: conn.attributes.name });
        await form.getByLabel('Repository URL').fill(gitlab.repoUrl);
        await form.getByLabel('Pattern', { exact: true }).fill('envs/*/*.tf');
        await form.getByLabel('Ignore patterns').fill('modules/**');
        await form.getByLabel('Name template').fill(`${name}-{dir}`);
        await form.getByLabel('Labels').fill('managed-by=ui-test');

        // the preview of the unsaved rule: two new workspaces, nothing made
        await form.getByRole('button', { name: 'Preview' }).click();
        const preview = page.getByRole('table', { name: 'Preview' });
        await expect(preview.locator('tbody tr')).toHaveCount(2);
        await expect(preview.locator('tr[data-directory="envs/dev"]')).toContainText('New');
        await expect(preview.locator('tr[data-directory="envs/prod"]')).toContainText('New');
        await expectAccessible(page);

        await form.getByRole('button', { name: 'Create rule' }).click();
        await expect(page.getByRole('heading', { name, level: 1 })).toBeVisible();
        const id = page.url().split('/').pop();
        const made = (await api('GET', `/api/terrapod/v1/autodiscovery-rules/${id}`)).json.data.attributes;
        expect(made).toMatchObject({ pattern: 'envs/*/*.tf', 'ignore-patterns': ['modules/**'],
            labels: { 'managed-by': 'ui-test' }, 'vcs-connection-id': conn.id });

        await page.getByRole('button', { name: 'Scan now' }).click();
        await expect(page.getByRole('region', { name: 'Scan' })).toContainText('2 workspaces created');
        await page.getByRole('button', { name: 'Preview saved rule' }).click();
        const again = page.getByRole('table', { name: 'Preview' });
        await expect(again.locator('tr[data-directory="envs/dev"]')).toContainText('Created by this rule already');

        // changed: only what differs is sent
        const settings = page.getByRole('form', { name: 'Rule settings' });
        await settings.getByLabel('Enabled: pushes and pull requests create workspaces').uncheck();
        const [req] = await Promise.all([
            page.waitForRequest((r) => r.method() === 'PATCH'),
            settings.getByRole('button', { name: 'Save rule' }).click(),
        ]);
        expect(JSON.parse(req.postData()).data.attributes).toEqual({ enabled: false });
        await expect(page.getByText('Rule saved.')).toBeVisible();

        // a tree the provider cuts short is too large to scan
        await gitlab.control('truncate', { on: 1 });
        await page.getByRole('button', { name: 'Preview saved rule' }).click();
        await expect(page.getByRole('region', { name: 'Preview' }).getByRole('alert'))
            .toContainText('too large to scan');
        await gitlab.control('truncate', { on: 0 });
        await expectAccessible(page);

        await page.getByRole('button', { name: 'Delete rule' }).click();
        await page.getByRole('button', { name: 'Delete it' }).click();
        await expect(page).toHaveURL(/\/app\/admin\/autodiscovery-rules$/);
        await expect(page.locator(`tr[data-rule="${name}"]`)).toHaveCount(0);
        await api('GET', `/api/terrapod/v1/autodiscovery-rules/${id}`, { expect: [404] });
        const kept = await api('GET', `/api/v2/organizations/default/workspaces?search[name]=${name}`);
        expect(kept.json.data.map((w) => w.attributes['working-directory']).sort()).toEqual(['envs/dev', 'envs/prod']);
        expectClean(page);
    } finally {
        await gitlab.stop();
        await api('DELETE', `/api/terrapod/v1/vcs-connections/${conn.id}`, { expect: [204, 404] });
        repo.remove();
    }
});
