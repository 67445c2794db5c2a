'use strict';
// Workspaces and their variables through @skorfmann/terraform-cloud (the
// client cdktf drives TFE with), asserting what the client parsed: it
// camelCases every key of an answer and returns its `data`.
//
// The client has no calls for listing workspaces or for variables; those
// go through its own HTTP client (tfc.client: the same token, headers
// and camelCasing, answering the whole document), as cdktf reaches what
// the wrapper lacks.
const test = require('node:test');
const assert = require('node:assert/strict');
const { ORG, client, uniqueName } = require('./lib/instance');

const tfc = client();
const name = uniqueName('compat-ws');
let ws;

function rejectsWith(promise, status) {
    return assert.rejects(promise, (err) => {
        assert.equal(err.response && err.response.status, status, err.message);
        return true;
    });
}

test('Account.getDetails names the token owner', async () => {
    const me = await tfc.Account.getDetails();
    assert.match(me.id, /^user-/);
    assert.equal(me.type, 'users');
    assert.equal(me.attributes.isServiceAccount, false);
    assert.equal(typeof me.attributes.username, 'string');
});

test('Workspaces.create makes an agent-mode workspace', async () => {
    ws = await tfc.Workspaces.create(ORG, {
        data: {
            type: 'workspaces',
            attributes: { name, executionMode: 'agent', autoApply: false },
        },
    });
    assert.match(ws.id, /^ws-/);
    assert.equal(ws.type, 'workspaces');
    assert.equal(ws.attributes.name, name);
    assert.equal(ws.attributes.executionMode, 'agent');
    assert.equal(ws.attributes.autoApply, false);
    assert.equal(ws.attributes.locked, false);
    assert.equal(ws.relationships.organization.data.id, ORG);
});

test('Workspaces.create refuses a name in use with a JSON:API error', async () => {
    await assert.rejects(
        tfc.Workspaces.create(ORG, {
            data: { type: 'workspaces', attributes: { name } },
        }),
        (err) => {
            // what cdktf prints from a failed call: response.data.errors
            assert.equal(err.response.status, 422);
            assert.ok(Array.isArray(err.response.data.errors), err.message);
            assert.equal(err.response.data.errors[0].status, '422');
            return true;
        });
});

test('Workspaces.show and showByName find it', async () => {
    const byId = await tfc.Workspaces.show(ws.id);
    assert.equal(byId.id, ws.id);
    assert.equal(byId.attributes.name, name);
    const byName = await tfc.Workspaces.showByName(ORG, name);
    assert.equal(byName.id, ws.id);
    assert.equal(byName.attributes.executionMode, 'agent');
});

test('the workspace list holds it, with TFE pagination', async () => {
    const list = await tfc.client.get(`/organizations/${ORG}/workspaces`,
                                      { params: { 'search[name]': name } });
    assert.deepEqual(list.data.map((w) => w.id), [ws.id]);
    assert.equal(list.meta.pagination.totalCount, 1);
    assert.equal(list.meta.pagination.currentPage, 1);
    assert.equal(list.links.next, null);
});

test('Workspaces.update changes settings', async () => {
    // the client puts its second argument where TFE's path takes the
    // workspace name (/organizations/:org/workspaces/:name)
    const updated = await tfc.Workspaces.update(ORG, name, {
        data: {
            type: 'workspaces',
            attributes: { description: 'driven by the npm client', autoApply: true },
        },
    });
    assert.equal(updated.id, ws.id);
    assert.equal(updated.attributes.description, 'driven by the npm client');
    assert.equal(updated.attributes.autoApply, true);
    const again = await tfc.Workspaces.show(ws.id);
    assert.equal(again.attributes.autoApply, true);
});

const vars = () => `/workspaces/${ws.id}/vars`;
let terraformVar, envVar;

test('variables are created', async () => {
    const created = await tfc.client.post(vars(), {
        data: {
            type: 'vars',
            attributes: { key: 'region', value: 'eu-west-1', category: 'terraform',
                          description: 'where' },
        },
    });
    terraformVar = created.data;
    assert.match(terraformVar.id, /^var-/);
    assert.equal(terraformVar.attributes.key, 'region');
    assert.equal(terraformVar.attributes.value, 'eu-west-1');
    assert.equal(terraformVar.attributes.category, 'terraform');
    assert.equal(terraformVar.attributes.sensitive, false);
    assert.equal(terraformVar.relationships.configurable.data.id, ws.id);

    const secret = await tfc.client.post(vars(), {
        data: {
            type: 'vars',
            attributes: { key: 'API_KEY', value: 's3cret', category: 'env', sensitive: true },
        },
    });
    envVar = secret.data;
    assert.equal(envVar.attributes.category, 'env');
    assert.equal(envVar.attributes.sensitive, true);
    // TFE never sends a sensitive value back
    assert.equal(envVar.attributes.value, null);
});

test('variables are listed', async () => {
    const list = await tfc.client.get(vars());
    const byKey = Object.fromEntries(list.data.map((v) => [v.attributes.key, v]));
    assert.deepEqual(Object.keys(byKey).sort(), ['API_KEY', 'region']);
    assert.equal(byKey.region.id, terraformVar.id);
    assert.equal(byKey.region.attributes.value, 'eu-west-1');
    assert.equal(byKey.API_KEY.attributes.value, null);
});

test('a variable is updated', async () => {
    const updated = await tfc.client.patch(`${vars()}/${terraformVar.id}`, {
        data: {
            id: terraformVar.id,
            type: 'vars',
            attributes: { value: 'us-east-2', hcl: false },
        },
    });
    assert.equal(updated.data.id, terraformVar.id);
    assert.equal(updated.data.attributes.value, 'us-east-2');
    assert.equal(updated.data.attributes.key, 'region');
    const shown = await tfc.client.get(`${vars()}/${terraformVar.id}`);
    assert.equal(shown.data.attributes.value, 'us-east-2');
});

test('a variable is deleted', async () => {
    await tfc.client.delete(`${vars()}/${envVar.id}`);
    const list = await tfc.client.get(vars());
    assert.deepEqual(list.data.map((v) => v.id), [terraformVar.id]);
    await rejectsWith(tfc.client.get(`${vars()}/${envVar.id}`), 404);
});

test('Workspaces.delete removes the workspace', async () => {
    await tfc.Workspaces.delete(ws.id);
    await rejectsWith(tfc.Workspaces.show(ws.id), 404);
    await rejectsWith(tfc.Workspaces.showByName(ORG, name), 404);
});
