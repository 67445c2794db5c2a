// An auditor (the read-only platform role) reads the administration pages
// and is offered no control that changes anything; forcing a change with
// the session anyway is refused by the server (403).
'use strict';
const { test, expect } = require('@playwright/test');
const { api, unique, createUser } = require('./lib/instance');
const { signIn, expectClean } = require('./lib/ui');
const { createPool, PASSWORD } = require('./lib/admin');

/** Buttons that change nothing on the server. */
const READ_ONLY = new Set(['Search', 'Filter', 'Clear', 'Previous', 'Next', 'Sign out']);

async function writeControls(page) {
    const names = await page.locator('main button').evaluateAll(
        (bs) => bs.map((b) => (b.getAttribute('aria-label') || b.textContent || '').trim()));
    const panels = await page.locator('main details').count();
    return { buttons: names.filter((n) => !READ_ONLY.has(n)), panels };
}

test('an auditor sees no write controls and is refused when forcing one', async ({ page }) => {
    const auditor = await createUser(`${unique('ui-auditor')}@example.com`, PASSWORD, ['audit']);
    const pool = await createPool(unique('ui-audit-pool'));
    const { json } = await api('POST', '/api/v2/organizations/default/varsets', {
        body: { data: { type: 'varsets', attributes: { name: unique('ui-audit-set') } } },
    });
    await api('POST', `/api/v2/varsets/${json.data.id}/relationships/vars`, {
        body: { data: { type: 'vars', attributes: { key: 'region', value: 'eu', category: 'env' } } },
    });
    await signIn(page, auditor, '/app/admin/roles');
    const pages = [
        ['/app/admin/agent-pools', 'Agent pools', 'default'],
        [`/app/admin/agent-pools/${pool.id}`, pool.attributes.name, 'Listeners'],
        ['/app/admin/variable-sets', 'Variable sets', json.data.attributes.name],
        [`/app/admin/variable-sets/${json.data.id}`, json.data.attributes.name, 'region'],
        ['/app/admin/roles', 'Roles', 'built-in'],
        [`/app/admin/users?email=${encodeURIComponent(auditor.email)}`, 'Users', auditor.email],
        ['/app/admin/audit-log', 'Audit log', 'GET'],
    ];
    for (const [path, heading, text] of pages) {
        await page.goto(path);
        await expect(page.getByRole('heading', { name: heading, level: 1 })).toBeVisible();
        await expect(page.locator('main')).toContainText(text);
        await expect(page.getByRole('navigation', { name: 'Main' })).toContainText('Administration');
        expect({ path, ...(await writeControls(page)) }).toEqual({ path, buttons: [], panels: 0 });
    }
    // every token, VCS connections and autodiscovery rules are listed to
    // platform admins only: the page says what the server said (and the
    // last two are not in the navigation)
    const nav = page.getByRole('navigation', { name: 'Main' });
    await expect(nav.getByRole('link', { name: 'VCS connections' })).toHaveCount(0);
    await expect(nav.getByRole('link', { name: 'Autodiscovery' })).toHaveCount(0);
    for (const path of ['/app/admin/tokens', '/app/admin/vcs-connections', '/app/admin/autodiscovery-rules']) {
        await page.goto(path);
        await expect(page.getByRole('alert')).toBeVisible();
        expect({ path, ...(await writeControls(page)) }).toEqual({ path, buttons: [], panels: 0 });
    }

    // the same calls the hidden controls would make, with this session
    const forced = await page.evaluate(async ({ poolId, setId, email }) => {
        const csrf = decodeURIComponent((document.cookie.match(/(?:^|; )terrapod_csrf=([^;]*)/) || [])[1] || '');
        const call = (method, path, body) => fetch(path, {
            method, credentials: 'same-origin',
            headers: { 'Content-Type': 'application/vnd.api+json', 'X-CSRF-Token': csrf },
            body: body && JSON.stringify(body),
        }).then((r) => r.status);
        return [
            await call('POST', '/api/terrapod/v1/roles',
                { data: { type: 'roles', attributes: { name: 'forced-by-auditor', 'workspace-permission': 'admin' } } }),
            await call('PATCH', `/api/terrapod/v1/users/${encodeURIComponent(email)}`,
                { data: { type: 'users', attributes: { 'is-active': false } } }),
            await call('DELETE', `/api/v2/varsets/${setId}`),
            await call('POST', `/api/terrapod/v1/agent-pools/${poolId}/authentication-tokens`,
                { data: { type: 'authentication-tokens', attributes: {} } }),
        ];
    }, { poolId: pool.id, setId: json.data.id, email: auditor.email });
    expect(forced).toEqual([403, 403, 403, 403]);
    await api('GET', '/api/terrapod/v1/roles/forced-by-auditor', { expect: [404] });
    expectClean(page);
});
