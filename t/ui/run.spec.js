// The run page: a run made by terraform apply in agent mode, opened from
// the address the CLI prints, with its logs, planned changes and final
// status; and confirming from the page a run that waits for it.
'use strict';
const { test, expect } = require('@playwright/test');
const { admin, api, unique, createWorkspace, until, runStatus, hasLiveEvents } = require('./lib/instance');
const { configDir, terraform, uploadConfig, queueRun } = require('./lib/terraform');
const { signIn, expectClean, expectAccessible } = require('./lib/ui');

const TWO_RESOURCES = `
resource "terraform_data" "greeting" {
  input = "hello from the ui tests"
}
resource "terraform_data" "second" {
  input = "and another"
}
`;

test('terraform apply in agent mode: the run page shows the log and the final status', async ({ page }) => {
    const name = unique('ui-tf');
    await createWorkspace(name, { 'execution-mode': 'agent' });
    const dir = configDir(name, TWO_RESOURCES);
    let r = await terraform(dir, 'init', '-input=false');
    expect(r.code, r.out).toBe(0);
    r = await terraform(dir, 'apply', '-auto-approve', '-input=false');
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('Apply complete! Resources: 2 added');
    // the address terraform printed for the run
    const printed = r.out.match(/https:\/\/\S+\/app\/default\/[^/\s]+\/runs\/run-\w+/);
    expect(printed, r.out).not.toBeNull();
    const link = new URL(printed[0]);
    expect(link.pathname).toMatch(new RegExp(`^/app/default/${name}/runs/run-\\w+$`));

    await signIn(page, admin, link.pathname);
    await expect(page).toHaveURL(link.href);
    await expect(page.getByTestId('run-status')).toHaveText('Applied');
    const planLog = page.getByRole('region', { name: /^Plan output/ });
    await expect(planLog).toContainText('Plan: 2 to add, 0 to change, 0 to destroy.');
    const applyLog = page.getByRole('region', { name: /^Apply output/ });
    await expect(applyLog).toContainText('Apply complete! Resources: 2 added, 0 changed, 0 destroyed.');
    const changes = page.locator('table.changes');
    await expect(changes.locator('tr', { hasText: 'terraform_data.greeting' })).toContainText('add');
    await expect(changes.locator('tr', { hasText: 'terraform_data.second' })).toContainText('add');
    await expect(page.locator('.counts')).toContainText('+2 to add');
    const timeline = page.locator('ol.timeline');
    await expect(timeline).toContainText('Run created');
    await expect(timeline.locator('li').last()).toContainText(/applied/i);
    await expect(page.locator('dl.facts')).toContainText('Exitclean');
    // a finished run offers nothing to do
    await expect(page.getByRole('group', { name: 'Run actions' })).toHaveCount(0);
    await expectAccessible(page);
    // the workspace's own address of the run shows the same page
    const run = link.pathname.split('/').pop();
    await page.goto(`/app/default/workspaces/${name}/runs/${run}`);
    await expect(page.getByTestId('run-status')).toHaveText('Applied');
    expectClean(page);
});

/**
 * A workspace in agent mode whose run has planned and waits for its
 * confirmation.
 * @param {string} prefix
 */
async function plannedRun(prefix) {
    const name = unique(prefix);
    const ws = await createWorkspace(name, { 'execution-mode': 'agent', 'auto-apply': false });
    const cv = await uploadConfig(ws.id, configDir(name, TWO_RESOURCES));
    await until(60, 'the configuration to be uploaded', async () =>
        (await api('GET', `/api/v2/configuration-versions/${cv}`)).json.data.attributes.status === 'uploaded');
    const run = await queueRun(ws.id, cv);
    await until(120, 'the run to plan', async () => (await runStatus(run)) === 'planned');
    return { name, run };
}

// an apply that writes a line a second for ten seconds
const SLOW_APPLY = `
resource "terraform_data" "slow" {
  provisioner "local-exec" {
    command = "for i in 1 2 3 4 5 6 7 8 9 10; do echo \\"step $i of 10\\"; sleep 1; done"
  }
}
`;

test('terraform apply from the CLI with the run page open: the log grows, the status turns applied, no reload', async ({ page }) => {
    test.skip(!(await hasLiveEvents()), 'the server has no live event streams (404)');
    const name = unique('ui-tf-live');
    const ws = await createWorkspace(name, { 'execution-mode': 'agent' });
    const dir = configDir(name, SLOW_APPLY);
    const init = await terraform(dir, 'init', '-input=false');
    expect(init.code, init.out).toBe(0);
    const applying = terraform(dir, 'apply', '-auto-approve', '-input=false');
    let run = '';
    await until(120, 'the run of the CLI to be queued', async () => {
        const { json } = await api('GET', `/api/v2/workspaces/${ws.id}/runs`);
        run = json.data.length ? json.data[0].id : '';
        return run !== '';
    });
    await signIn(page, admin, `/app/default/${name}/runs/${run}`);
    // gone if the page were loaded again
    await page.evaluate(() => { /** @type {any} */ (window).sameDocument = true; });
    const applyLog = page.getByRole('region', { name: /^Apply output/ });
    await expect(applyLog).toContainText('step 1 of 10', { timeout: 120000 });
    // the first line is there while the last is still seconds away: the
    // log grows in the open page
    await expect(applyLog).not.toContainText('step 10 of 10', { timeout: 1 });
    await expect(applyLog).toContainText('step 10 of 10', { timeout: 60000 });
    await expect(page.getByTestId('run-status')).toHaveText('Applied', { timeout: 60000 });
    expect(await page.evaluate(() => /** @type {any} */ (window).sameDocument)).toBe(true);
    const r = await applying;
    expect(r.code, r.out).toBe(0);
    expectClean(page);
});

test('a run waiting for confirmation is confirmed from its page and applies', async ({ page }) => {
    const { name, run } = await plannedRun('ui-confirm');

    await signIn(page, admin, `/app/default/workspaces/${name}/runs/${run}`);
    await expect(page.getByTestId('run-status')).toHaveText('Planned');
    await expect(page.getByRole('button', { name: 'Discard run' })).toBeVisible();
    await expectAccessible(page);
    await page.getByRole('button', { name: 'Confirm & apply' }).click();
    // followed without a reload: the live stream, or reading the run again
    await expect(page.getByTestId('run-status')).toHaveText('Applied', { timeout: 120000 });
    await expect(page.getByRole('region', { name: /^Apply output/ }))
        .toContainText('Apply complete! Resources: 2 added');
    await expect(page.getByRole('group', { name: 'Run actions' })).toHaveCount(0);
    expect(await runStatus(run)).toBe('applied');
    const { json } = await api('GET', `/api/v2/runs/${run}`);
    expect(json.data.relationships['confirmed-by'].data).not.toBeNull();
    expectClean(page);
});

test('a long coloured log: colours drawn, only the lines in view in the page', async ({ page }) => {
    const name = unique('ui-longlog');
    const ws = await createWorkspace(name, { 'execution-mode': 'agent', 'auto-apply': true });
    const cv = await uploadConfig(ws.id, configDir(name, `
resource "terraform_data" "noisy" {
  provisioner "local-exec" {
    command = "printf '\\\\033[1;31mred alert\\\\033[0m\\n'; seq -f 'noise line %g' 1 6000"
  }
}
`));
    await until(60, 'the configuration to be uploaded', async () =>
        (await api('GET', `/api/v2/configuration-versions/${cv}`)).json.data.attributes.status === 'uploaded');
    const run = await queueRun(ws.id, cv);
    const end = await until(180, 'the run to end', async () => {
        const st = await runStatus(run);
        return ['applied', 'errored', 'canceled'].includes(st) && st;
    });
    expect(end).toBe('applied');

    await signIn(page, admin, `/app/default/workspaces/${name}/runs/${run}`);
    const log = page.getByRole('region', { name: /^Apply output, \d+ lines$/ });
    await expect(log).toBeVisible();
    // the log arrives in reads of a limited size: the count grows to all of it
    await expect.poll(async () =>
        Number((await log.getAttribute('aria-label')).match(/(\d+) lines/)[1]),
    { timeout: 30000 }).toBeGreaterThan(6000);
    // a screenful and some either side, not six thousand rows
    expect(await log.locator('.log-line').count()).toBeLessThan(200);
    const red = log.locator('span.ansi-fg1.ansi-bold', { hasText: 'red alert' });
    await expect(red).toHaveCount(1);
    expect(await red.evaluate((e) => getComputedStyle(e).fontWeight)).toBe('700');
    await log.evaluate((e) => { e.scrollTop = e.scrollHeight; });
    await expect(log).toContainText('noise line 6000');
    await expect(log).not.toContainText('red alert');
    expect(await log.locator('.log-line').count()).toBeLessThan(200);
    expectClean(page);
});

test('the run status turns applied without a reload over the live stream', async ({ page }) => {
    test.skip(!(await hasLiveEvents()), 'the server has no live event streams (404)');
    const { name, run } = await plannedRun('ui-live-run');
    await signIn(page, admin, `/app/default/workspaces/${name}/runs/${run}`);
    await expect(page.getByRole('status').filter({ hasText: 'Live' })).toBeVisible();
    await expect(page.getByTestId('run-status')).toHaveText('Planned');
    // confirmed elsewhere (the API, as the CLI would): the page follows
    await api('POST', `/api/v2/runs/${run}/actions/apply`);
    await expect(page.getByTestId('run-status')).toHaveText('Applied', { timeout: 120000 });
    // and the workspaces list shows the new status of its current run
    await page.goto(`/app/default/workspaces?search=${name}`);
    await expect(page.locator('tr', { hasText: name })).toContainText('Applied');
    expectClean(page);
});
