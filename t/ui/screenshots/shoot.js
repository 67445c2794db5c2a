// The screenshots of docs/ui.md (tools/ui-screenshots): each page of PAGES
// in Chromium, signed in as the instance's admin, saved as docs/ui/NAME.png
// (a laptop's window, or its width for a whole long page; the workspaces
// list also at a phone's), and the list of images in docs/ui.md between
// its screenshot markers rewritten to what exists. A page that says it is not written yet is left out (an image it
// had stays), so running this again once it is captures it.
//
//   node shoot.js IDS.json   IDS: what seed.pl printed (a workspace, a run)
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { chromium } = require('@playwright/test');
const { launchOptions } = require('../lib/trust');
const { submitSignIn } = require('../lib/ui');

const SRC = path.resolve(__dirname, '..', '..', '..');
const OUT = path.join(SRC, 'docs', 'ui');
const DOC = path.join(SRC, 'docs', 'ui.md');
const LAPTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

/** Every page, in the order docs/ui.md shows them; :ws, :run, :vcs and :rule from IDS (a page
 * whose id IDS has not is left out). */
const PAGES = [
    { name: 'sign-in', path: '/app/default/workspaces', caption: 'Signing in', signedOut: true },
    { name: 'workspaces', path: '/app/default/workspaces', caption: 'The workspaces list' },
    { name: 'workspaces-phone', path: '/app/default/workspaces', caption: 'The workspaces list on a phone',
      viewport: PHONE },
    { name: 'workspace-overview', path: '/app/default/workspaces/:ws', caption: "A workspace's overview" },
    { name: 'workspace-runs', path: '/app/default/workspaces/:ws/runs', caption: "A workspace's runs" },
    { name: 'run', path: '/app/default/workspaces/:ws/runs/:run', caption: 'A run, with its log',
      fullPage: true },
    { name: 'workspace-variables', path: '/app/default/workspaces/:ws/variables', caption: 'Variables' },
    { name: 'workspace-state', path: '/app/default/workspaces/:ws/state', caption: 'State versions' },
    { name: 'workspace-configurations', path: '/app/default/workspaces/:ws/configurations',
      caption: 'Configuration versions' },
    { name: 'workspace-settings', path: '/app/default/workspaces/:ws/settings', caption: "A workspace's settings: general, execution, drift, repository, run triggers, remote-state consumers, notifications", fullPage: true },
    { name: 'admin-agent-pools', path: '/app/admin/agent-pools', caption: 'Agent pools and listeners' },
    { name: 'admin-variable-sets', path: '/app/admin/variable-sets', caption: 'Variable sets' },
    { name: 'admin-roles', path: '/app/admin/roles', caption: 'Roles' },
    { name: 'admin-users', path: '/app/admin/users', caption: 'Users' },
    { name: 'admin-tokens', path: '/app/admin/tokens', caption: 'All tokens' },
    { name: 'admin-audit-log', path: '/app/admin/audit-log', caption: 'The audit log' },
    { name: 'admin-vcs-connections', path: '/app/admin/vcs-connections', caption: 'VCS connections' },
    { name: 'admin-vcs-connection', path: '/app/admin/vcs-connections/:vcs',
      caption: 'A VCS connection: health, test, webhook and settings', fullPage: true },
    { name: 'admin-autodiscovery-rules', path: '/app/admin/autodiscovery-rules', caption: 'Autodiscovery rules',
      needs: 'rule' },
    { name: 'admin-autodiscovery-rule', path: '/app/admin/autodiscovery-rules/:rule',
      caption: 'An autodiscovery rule', needs: 'rule' },
    { name: 'admin-binary-cache', path: '/app/admin/binary-cache', caption: 'The binary cache' },
    { name: 'registry-modules', path: '/app/default/registry/modules', caption: 'Registry modules' },
    { name: 'registry-module', path: '/app/default/registry/modules/network/aws',
      caption: 'A module: usage, versions with inputs, outputs and README, linked workspaces',
      fullPage: true },
    { name: 'registry-providers', path: '/app/default/registry/providers', caption: 'Registry providers' },
    { name: 'registry-provider', path: '/app/default/registry/providers/acme',
      caption: 'A provider: usage, versions with their signer and platforms', fullPage: true },
    { name: 'registry-gpg-keys', path: '/app/default/registry/gpg-keys', caption: "Publishers' GPG keys" },
    { name: 'settings-tokens', path: '/app/settings/tokens', caption: 'Your tokens' },
    { name: 'settings-sessions', path: '/app/settings/sessions', caption: 'Your sessions' },
    { name: 'api', path: '/app/api', caption: "The API's description" },
];

const BEGIN = '<!-- screenshots: written by tools/ui-screenshots -->';
const END = '<!-- end of screenshots -->';

/** Waits until the page has drawn what it loaded. */
async function settled(page) {
    await page.locator('h1').first().waitFor();
    await page.waitForFunction(() => ![...document.querySelectorAll('[role=status]')]
        .some((e) => /Loading/.test(e.textContent || '')));
    await page.waitForLoadState('load');
    await page.waitForTimeout(700);
}

function writeList() {
    const doc = fs.readFileSync(DOC, 'utf8');
    const from = doc.indexOf(BEGIN), to = doc.indexOf(END);
    if (from < 0 || to < from) {
        throw new Error(`docs/ui.md has no "${BEGIN}" ... "${END}"`);
    }
    const list = PAGES.filter((p) => fs.existsSync(path.join(OUT, `${p.name}.png`)))
        .map((p) => `![${p.caption}](ui/${p.name}.png)\n`).join('\n');
    fs.writeFileSync(DOC, `${doc.slice(0, from)}${BEGIN}\n\n${list}\n${doc.slice(to)}`);
}

(async () => {
    const ids = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
    const browser = await chromium.launch(launchOptions());
    const base = process.env.TERRAPOD_URL;
    const signedOut = await browser.newContext({ baseURL: base, viewport: LAPTOP });
    const context = await browser.newContext({ baseURL: base, viewport: LAPTOP });
    const first = await context.newPage();
    await first.goto('/');
    await submitSignIn(first, { email: process.env.TERRAPOD_ADMIN_EMAIL,
                                password: process.env.TERRAPOD_ADMIN_PASSWORD });
    await first.waitForURL((u) => !u.pathname.startsWith('/api/'));
    await first.close();
    fs.mkdirSync(OUT, { recursive: true });
    const skipped = [];
    for (const p of PAGES) {
        if (p.needs && !ids[p.needs]) {
            skipped.push(p.name);
            continue;
        }
        const page = await (p.signedOut ? signedOut : context).newPage();
        await page.setViewportSize(p.viewport || LAPTOP);
        await page.goto(p.path.replace(':ws', ids.workspace).replace(':run', ids.run)
            .replace(':vcs', ids.vcs).replace(':rule', ids.rule));
        if (p.signedOut) {
            await page.getByLabel('Email').waitFor();
        } else {
            await settled(page);
        }
        if (await page.getByText(/not written yet/i).count()) {
            skipped.push(p.name);
        } else {
            await page.screenshot({ path: path.join(OUT, `${p.name}.png`), fullPage: Boolean(p.fullPage),
                                    animations: 'disabled', caret: 'hide' });
            console.log(`docs/ui/${p.name}.png: ${p.path}`);
        }
        await page.close();
    }
    await browser.close();
    writeList();
    if (skipped.length) {
        console.log(`not written yet (or nothing to show), left out: ${skipped.join(', ')}`);
    }
})().catch((e) => {
    console.error(e);
    process.exit(1);
});
