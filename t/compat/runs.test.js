'use strict';
// A remote run the way cdktf makes one with @skorfmann/terraform-cloud: a
// configuration version with autoQueueRuns false, the tarball PUT to its
// upload URL, a run on it that the instance's listener plans with the
// real terraform, the plan read, the run confirmed and applied, and the
// outputs read from the current state version (cdktf's output()); then a
// destroy run, the plan-only run of a speculative version (cdktf diff)
// and a run the workspace auto-applies (cdktf deploy). Every assertion is
// on what the client parsed.
const test = require('node:test');
const assert = require('node:assert/strict');
const { ORG, client, uniqueName, configTarball, poll, settledRun } =
    require('./lib/instance');

const tfc = client();
const CONFIG = {
    'main.tf': [
        'variable "greeting" {',
        '  type = string',
        '}',
        'resource "terraform_data" "x" {',
        '  input = var.greeting',
        '}',
        'output "greeting" {',
        '  value = terraform_data.x.output',
        '}',
        '',
    ].join('\n'),
};
let ws, cv, run, plan, destroyRun;

// a configuration version holding CONFIG, uploaded
async function uploadedConfig(attributes) {
    const created = await tfc.ConfigurationVersion.create(ws.id, {
        data: { type: 'configuration-version', attributes },
    });
    await tfc.ConfigurationVersion.upload(created.attributes.uploadUrl, configTarball(CONFIG));
    return poll(() => tfc.ConfigurationVersion.show(created.id),
                (c) => c.attributes.status !== 'pending',
                30000, `configuration version ${created.id}`);
}

// The resource counts of a plan or an apply (read()) against what
// terraform did: the plan's from its JSON, the apply's from its log.
function countsTest(title, read, expected) {
    test(title, async () => {
        const counts = (await read()).attributes;
        assert.deepEqual({
            additions: counts.resourceAdditions,
            changes: counts.resourceChanges,
            destructions: counts.resourceDestructions,
        }, expected);
    });
}

// a run as cdktf's plan() creates it: camelCase relationship names
function createRun(configVersion, attributes) {
    return tfc.Runs.create({
        data: {
            attributes,
            relationships: {
                configurationVersion: {
                    data: { id: configVersion.id, type: 'configuration-versions' },
                },
                workspace: { data: { id: ws.id, type: 'workspaces' } },
            },
        },
    });
}

// cdktf's output(): the current state version with include=outputs,
// folded by output name
async function outputs() {
    const current = await tfc.StateVersions.current(ws.id, true);
    const folded = {};
    for (const output of current.included || []) {
        folded[output.attributes.name] = output.attributes;
    }
    return { current, folded };
}

test('an agent-mode workspace with a terraform variable', async () => {
    ws = await tfc.Workspaces.create(ORG, {
        data: {
            type: 'workspaces',
            attributes: { name: uniqueName('compat-run'), executionMode: 'agent' },
        },
    });
    assert.equal(ws.attributes.executionMode, 'agent');
    const greeting = await tfc.client.post(`/workspaces/${ws.id}/vars`, {
        data: {
            type: 'vars',
            attributes: { key: 'greeting', value: 'hello from npm', category: 'terraform' },
        },
    });
    assert.equal(greeting.data.attributes.key, 'greeting');
});

test('ConfigurationVersion.create with autoQueueRuns false', async () => {
    // exactly what cdktf sends: a singular type, camelCase attributes
    cv = await tfc.ConfigurationVersion.create(ws.id, {
        data: {
            type: 'configuration-version',
            attributes: { autoQueueRuns: false, speculative: false },
        },
    });
    assert.match(cv.id, /^cv-/);
    assert.equal(cv.type, 'configuration-versions');
    assert.equal(cv.attributes.status, 'pending');
    assert.equal(cv.attributes.autoQueueRuns, false);
    assert.equal(cv.attributes.speculative, false);
    assert.match(cv.attributes.uploadUrl, /^https:\/\//);
});

test('ConfigurationVersion.upload takes the tarball and queues no run', async () => {
    // a plain PUT without the token: the upload URL carries its own grant
    const put = await tfc.ConfigurationVersion.upload(cv.attributes.uploadUrl,
                                                      configTarball(CONFIG));
    assert.equal(put.status, 200);
    // cdktf waits for "uploaded" before it creates the run
    const uploaded = await poll(() => tfc.ConfigurationVersion.show(cv.id),
                                (c) => c.attributes.status !== 'pending',
                                30000, `configuration version ${cv.id}`);
    assert.equal(uploaded.attributes.status, 'uploaded');
    assert.deepEqual(await tfc.Runs.list(ws.id), []);
});

test('Runs.create queues a run on the configuration version', async () => {
    run = await createRun(cv, { isDestroy: false, refreshOnly: false, message: 'cdktf' });
    assert.match(run.id, /^run-/);
    assert.equal(run.attributes.message, 'cdktf');
    assert.equal(run.attributes.isDestroy, false);
    assert.equal(run.attributes.autoApply, false);
    assert.equal(run.relationships.workspace.data.id, ws.id);
    assert.equal(run.relationships.configurationVersion.data.id, cv.id);
    // cdktf reads both to poll the plan and the apply log
    assert.match(run.relationships.plan.data.id, /^plan-/);
    assert.match(run.relationships.apply.data.id, /^apply-/);
});

test('the listener plans it and the run waits for confirmation', async () => {
    run = await settledRun(tfc, run.id);
    assert.equal(run.attributes.status, 'planned');
    assert.equal(run.attributes.hasChanges, true);
    assert.equal(run.attributes.actions.isConfirmable, true);
    assert.ok(run.attributes.statusTimestamps.plannedAt);
});

test('Plans.show: the plan finished with changes', async () => {
    plan = await tfc.Plans.show(run.relationships.plan.data.id);
    assert.equal(plan.type, 'plans');
    assert.equal(plan.attributes.status, 'finished');
    assert.equal(plan.attributes.hasChanges, true);
    assert.equal(plan.relationships.run.data.id, run.id);
});

countsTest('Plans.show counts the resource to add',
           () => tfc.Plans.show(plan.id), { additions: 1, changes: 0, destructions: 0 });

test('Plans.jsonOutput: the planned resource and output', async () => {
    const json = await tfc.Plans.jsonOutput(plan.id);
    const created = json.resourceChanges.find((c) => c.address === 'terraform_data.x');
    assert.ok(created, JSON.stringify(json.resourceChanges));
    assert.deepEqual(created.change.actions, ['create']);
    assert.deepEqual(json.outputChanges.greeting.actions, ['create']);
    assert.equal(json.variables.greeting.value, 'hello from npm');
});

test('the plan log reads through its logReadUrl', async () => {
    const log = await tfc.client.get(plan.attributes.logReadUrl);
    assert.equal(typeof log, 'string');
    assert.match(log, /Plan: 1 to add, 0 to change, 0 to destroy/);
});

test('Runs.action apply confirms it and the listener applies', async () => {
    await tfc.Runs.action('apply', run.id, { comment: 'from the npm client' });
    run = await settledRun(tfc, run.id);
    assert.equal(run.attributes.status, 'applied');
    assert.ok(run.attributes.statusTimestamps.confirmedAt);
    assert.ok(run.attributes.statusTimestamps.appliedAt);
});

test('Applies.show and Applies.logs: the apply finished', async () => {
    const apply = await tfc.Applies.show(run.relationships.apply.data.id);
    assert.equal(apply.type, 'applies');
    assert.equal(apply.attributes.status, 'finished');
    assert.equal(apply.relationships.run.data.id, run.id);
    const log = await tfc.Applies.logs(apply.id);
    assert.match(log, /Apply complete! Resources: 1 added, 0 changed, 0 destroyed/);
});

countsTest('Applies.show counts the resource added',
           () => tfc.Applies.show(run.relationships.apply.data.id),
           { additions: 1, changes: 0, destructions: 0 });

test('Runs.list holds the applied run', async () => {
    const runs = await tfc.Runs.list(ws.id);
    assert.deepEqual(runs.map((r) => r.id), [run.id]);
    assert.equal(runs[0].attributes.status, 'applied');
});

test('StateVersions.current with outputs: what cdktf output() reads', async () => {
    const { current, folded } = await outputs();
    assert.match(current.data.id, /^sv-/);
    assert.equal(current.data.relationships.run.data.id, run.id);
    assert.deepEqual(Object.keys(folded), ['greeting']);
    assert.equal(folded.greeting.value, 'hello from npm');
    assert.equal(folded.greeting.type, 'string');
    assert.equal(folded.greeting.sensitive, false);
    // the included outputs are the ones the relationship names
    assert.deepEqual(current.data.relationships.outputs.data.map((o) => o.id),
                     current.included.map((o) => o.id));
});

test('StateVersions.show with outputs and the workspace point at it', async () => {
    const { current } = await outputs();
    const shown = await tfc.StateVersions.show(current.data.id, true);
    assert.equal(shown.id, current.data.id);
    assert.equal(shown.attributes.status, 'finalized');
    assert.equal(shown.attributes.serial, current.data.attributes.serial);
    const workspace = await tfc.Workspaces.show(ws.id);
    assert.equal(workspace.relationships.currentStateVersion.data.id, current.data.id);
    assert.equal(workspace.relationships.latestRun.data.id, run.id);
    assert.equal(workspace.attributes.resourceCount, 1);
    assert.equal(workspace.attributes.locked, false);
});

test('Runs.create with isDestroy makes a destroy run', async () => {
    destroyRun = await createRun(cv, { isDestroy: true, message: 'cdktf destroy' });
    assert.notEqual(destroyRun.id, run.id);
    assert.equal(destroyRun.attributes.isDestroy, true);
    destroyRun = await settledRun(tfc, destroyRun.id);
    assert.equal(destroyRun.attributes.status, 'planned');
    assert.equal(destroyRun.attributes.isDestroy, true);
    const json = await tfc.Plans.jsonOutput(destroyRun.relationships.plan.data.id);
    const deleted = json.resourceChanges.find((c) => c.address === 'terraform_data.x');
    assert.deepEqual(deleted.change.actions, ['delete']);
});

countsTest('Plans.show counts the resource to destroy',
           () => tfc.Plans.show(destroyRun.relationships.plan.data.id),
           { additions: 0, changes: 0, destructions: 1 });

test('the applied destroy run leaves no outputs', async () => {
    await tfc.Runs.action('apply', destroyRun.id);
    destroyRun = await settledRun(tfc, destroyRun.id);
    assert.equal(destroyRun.attributes.status, 'applied');
    const { current, folded } = await outputs();
    assert.equal(current.data.relationships.run.data.id, destroyRun.id);
    assert.deepEqual(folded, {});
    const workspace = await tfc.Workspaces.show(ws.id);
    assert.equal(workspace.attributes.resourceCount, 0);
});

test('a speculative configuration version plans only (cdktf diff)', async () => {
    const speculative = await uploadedConfig({ autoQueueRuns: false, speculative: true });
    assert.equal(speculative.attributes.speculative, true);
    assert.equal(speculative.attributes.status, 'uploaded');
    let diff = await createRun(speculative, { message: 'cdktf diff' });
    assert.equal(diff.attributes.planOnly, true);
    diff = await settledRun(tfc, diff.id);
    assert.equal(diff.attributes.status, 'planned_and_finished');
    assert.equal(diff.attributes.hasChanges, true);
    assert.equal(diff.attributes.actions.isConfirmable, false);
    // nothing was applied: the destroy run's state is still current
    const { current } = await outputs();
    assert.equal(current.data.relationships.run.data.id, destroyRun.id);
});

test('with auto-apply the run applies unconfirmed (cdktf deploy)', async () => {
    const updated = await tfc.Workspaces.update(ORG, ws.attributes.name, {
        data: { type: 'workspaces', attributes: { autoApply: true } },
    });
    assert.equal(updated.attributes.autoApply, true);
    let deploy = await createRun(await uploadedConfig({ autoQueueRuns: false }),
                                 { message: 'cdktf deploy' });
    // cdktf skips confirming a run that says so
    assert.equal(deploy.attributes.autoApply, true);
    deploy = await settledRun(tfc, deploy.id);
    assert.equal(deploy.attributes.status, 'applied');
    assert.ok(deploy.attributes.statusTimestamps.appliedAt);
    const { current, folded } = await outputs();
    assert.equal(current.data.relationships.run.data.id, deploy.id);
    assert.equal(folded.greeting.value, 'hello from npm');
});
