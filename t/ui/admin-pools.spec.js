// An agent pool's page: a join token created there (its secret shown
// once) lets a real listener join, which the page then shows; revoking
// the join token and the listener there takes effect in the API, and the
// revoked listener stops.
'use strict';
const { test, expect } = require('@playwright/test');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { admin, api, unique, baseURL } = require('./lib/instance');
const { signIn, expectClean, expectAccessible } = require('./lib/ui');
const { createPool, acceptDialogs } = require('./lib/admin');

const LISTENER = path.join(__dirname, '..', '..', 'listener', 'terrapod-listener');

/** Whether the server has the pool's event stream (it answers 200 and streams). */
async function poolStreamExists(poolId) {
    const ctl = new AbortController();
    const res = await fetch(new URL(`/api/terrapod/v1/agent-pools/${poolId}/events`, baseURL), {
        headers: { Authorization: `Bearer ${admin.token}`, Accept: 'text/event-stream' }, signal: ctl.signal });
    ctl.abort();
    return res.status === 200;
}

/** A terrapod-listener joining with this token; resolves its exit status. */
function startListener(name, joinToken) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tp-ui-listener-'));
    const child = spawn(LISTENER, ['--url', baseURL, '--name', name, '--state-dir', path.join(dir, 'state'),
                                   '--ca-file', process.env.TERRAPOD_CA_FILE,
                                   '--log-file', path.join(dir, 'listener.log')],
                        { env: { ...process.env, TERRAPOD_JOIN_TOKEN: joinToken }, stdio: 'ignore' });
    const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
    return { child, exited };
}

test('join token, listener, revocations', async ({ page }) => {
    test.setTimeout(240000);
    const pool = await createPool(unique('ui-pool'));
    const name = unique('ui-listener');
    acceptDialogs(page);
    await signIn(page, admin, `/app/admin/agent-pools/${pool.id}`);
    await expect(page.getByRole('heading', { name: pool.attributes.name, level: 1 })).toBeVisible();
    await expect(page.getByText('No listener has joined this pool.')).toBeVisible();
    // live from the pool's stream where the server has one; read every 30 s otherwise
    const live = await poolStreamExists(pool.id);
    await expect(page.getByRole('region', { name: 'Listeners' }).getByRole('status'))
        .toHaveText(live ? 'Live' : 'Not live: refreshing every 30 seconds');

    await page.getByText('New join token', { exact: true }).click();
    await page.getByLabel('Description').fill('from the UI');
    await page.getByLabel('Maximum uses').fill('1');
    await page.getByRole('button', { name: 'Create join token' }).click();
    const field = page.getByLabel('New join token', { exact: true });
    await expect(field).toHaveValue(/\S{20,}/);
    const joinToken = await field.inputValue();
    const tokenRow = page.locator('tr', { hasText: 'from the UI' });
    await expect(tokenRow).toContainText('0 of 1');
    await expect(tokenRow).toContainText('active');
    await expectAccessible(page);

    const listener = startListener(name, joinToken);
    try {
        // the page learns of it from the pool's stream, or its 30 s polling
        const row = page.locator('tr', { hasText: name });
        await expect(row).toContainText('online', { timeout: 60000 });
        await expect(row.locator('td').nth(1)).toHaveText('2');
        await expect(tokenRow).toContainText('1 of 1', { timeout: 60000 });

        await tokenRow.getByRole('button', { name: 'Revoke join token from the UI' }).click();
        await expect(tokenRow).toContainText('revoked');
        const tokens = await api('GET', `/api/terrapod/v1/agent-pools/${pool.id}/authentication-tokens`);
        expect(tokens.json.data[0].attributes.revoked).toBe(true);

        await row.getByRole('button', { name: `Revoke ${name}` }).click();
        await expect(row).toContainText('revoked');
        await expect(row.getByRole('button', { name: `Revoke ${name}` })).toHaveCount(0);
        const listeners = await api('GET', `/api/terrapod/v1/agent-pools/${pool.id}/listeners`);
        expect(listeners.json.data[0].attributes.status).toBe('revoked');
        // the listener meets the 403 on its next heartbeat or poll and stops
        expect(await listener.exited).toBe(3);
    } finally {
        listener.child.kill('SIGTERM');
    }
    expectClean(page);
});

test('the pools list links each pool and shows its listeners', async ({ page }) => {
    const pool = await createPool(unique('ui-list-pool'));
    await signIn(page, admin, '/app/admin/agent-pools');
    await expect(page.getByRole('heading', { name: 'Agent pools', level: 1 })).toBeVisible();
    const def = page.locator('tr', { has: page.getByRole('link', { name: 'default', exact: true }) });
    await expect(def).toBeVisible();
    await expectAccessible(page);
    await page.getByRole('link', { name: pool.attributes.name }).click();
    await expect(page).toHaveURL(new RegExp(`/app/admin/agent-pools/${pool.id}$`));
    expectClean(page);
});
