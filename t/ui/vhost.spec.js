// The UI deployed as static files on a plain Apache under a path prefix,
// forwarding the module's paths to the instance (lib/vhost.js, with
// docs/ui.md's own snippets): signing in through it comes back under the
// prefix with the session cookie on the vhost's host, a workspace's page
// opens from its address and after a reload, links stay under the prefix,
// and the module's answers (API errors, discovery) come through as they are.
'use strict';
const { test, expect } = require('@playwright/test');
const { admin, unique, createWorkspace } = require('./lib/instance');
const { signIn, expectClean } = require('./lib/ui');
const { startVhost, PREFIX } = require('./lib/vhost');

test.describe.configure({ mode: 'serial' });

let vhost;
test.beforeAll(async () => {
    vhost = await startVhost();
});
test.afterAll(async () => {
    if (vhost) {
        await vhost.stop();
    }
});

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

test('signing in through the vhost comes back under its prefix, with its own cookies', async ({ page, context }) => {
    await signIn(page, admin, vhost.url);
    await expect(page).toHaveURL(new RegExp(`^${escape(vhost.url)}app/default/workspaces$`));
    await expect(page.getByRole('heading', { name: 'Workspaces', level: 1 })).toBeVisible();
    // the sign-in page came through the vhost, and so did its cookies
    const names = (await context.cookies(vhost.origin)).map((c) => c.name);
    expect(names).toEqual(expect.arrayContaining(['terrapod_session', 'terrapod_csrf']));
    expect(await context.cookies(process.env.TERRAPOD_URL)).toEqual([]);
    expectClean(page);
});

test('a workspace page opens from its address, survives a reload, and its links stay under the prefix', async ({ page }) => {
    const name = unique('ui-vhost');
    await createWorkspace(name, { labels: { team: 'vhost' } });
    const deep = `${vhost.url}app/default/workspaces/${name}`;
    // not signed in: the sign-in page's return_to brings the browser back here
    await signIn(page, admin, deep);
    await expect(page).toHaveURL(deep);
    const heading = page.getByRole('heading', { name, level: 1 });
    await expect(heading).toBeVisible();
    await page.reload();
    await expect(page).toHaveURL(deep);
    await expect(heading).toBeVisible();
    // opened directly in a new tab of the signed-in browser
    const tab = await page.context().newPage();
    await tab.goto(deep);
    await expect(tab.getByRole('heading', { name, level: 1 })).toBeVisible();
    await tab.close();

    await page.getByRole('link', { name: 'Workspaces' }).first().click();
    await expect(page).toHaveURL(`${vhost.url}app/default/workspaces`);
    await page.getByLabel('Name').fill(name);
    await expect(page).toHaveURL(`${vhost.url}app/default/workspaces?search=${name}`);
    await page.getByRole('link', { name }).click();
    await expect(page).toHaveURL(deep);
    await expect(heading).toBeVisible();
    await page.goBack();
    await expect(page).toHaveURL(`${vhost.url}app/default/workspaces?search=${name}`);
    for (const href of await page.locator('a[href]').evaluateAll((as) => as.map((a) => a.href))) {
        const url = new URL(href);
        if (url.origin === vhost.origin && !url.pathname.startsWith('/api/')) {
            expect(url.pathname.startsWith(PREFIX), href).toBe(true);
        }
    }
    expectClean(page);
});

test('the module answers through the vhost as itself; missing assets are 404s', async ({ request }) => {
    const api = await request.get(`${vhost.origin}/api/v2/no-such-thing`);
    expect(api.status()).toBe(404);
    expect((await api.json()).errors[0].status).toBe('404');
    const discovery = await request.get(`${vhost.origin}/.well-known/terraform.json`);
    expect(discovery.status()).toBe(200);
    expect(await discovery.json()).toHaveProperty(['tfe.v2']);
    const asset = await request.get(`${vhost.url}assets/no-such-file.js`);
    expect(asset.status()).toBe(404);
    const page = await request.get(`${vhost.url}app/default/workspaces/any`);
    expect(page.status()).toBe(200);
    expect(page.headers()['content-security-policy']).toContain("default-src 'self'");
    expect(await page.text()).toContain(`<base href="${PREFIX}">`);
});
