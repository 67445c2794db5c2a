// The workspace tabs follow the workspace's live events: each reads its
// list again on the event that concerns it. The stream is played by the
// test (page.route), so the page has a stream (it does not poll) and
// learns of a change only when the test sends the event.
'use strict';
const { test, expect } = require('@playwright/test');
const { admin, api, unique, createWorkspace } = require('./lib/instance');
const { signIn, expectClean } = require('./lib/ui');
const { stateOf, uploadState, uploadFiles, createVar } = require('./lib/workspace');

/**
 * Serves the workspace's event stream: each connection gets the events
 * queued since the last one, then ends (the page reconnects at once).
 */
async function playStream(page, wsId) {
    const queue = [];
    let id = 0;
    let connections = 0;
    await page.route(`**/api/terrapod/v1/workspaces/${wsId}/runs/events`, (route) => {
        connections++;
        const frames = queue.splice(0).map((e) => {
            id++;
            const data = { ...e, id: String(id), workspace_id: wsId, at: new Date().toISOString() };
            return `id: ${id}\nevent: ${e.event}\ndata: ${JSON.stringify(data)}\n\n`;
        });
        route.fulfill({ status: 200, headers: { 'Content-Type': 'text/event-stream' },
                        body: `retry: 200\n\n${frames.join('')}` });
    });
    return {
        send: (event) => queue.push(event),
        connected: () => connections > 0,
    };
}

test('live: each tab reads its list again on its event', async ({ page }) => {
    const name = unique('ui-live');
    const ws = await createWorkspace(name);
    await uploadState(ws.id, stateOf(1, { a: '1' }));
    await uploadFiles(ws.id, { 'main.tf': 'output "x" {\n  value = 1\n}\n' });
    const stream = await playStream(page, ws.id);
    const tab = (t) => `/app/default/workspaces/${name}/${t}`;

    await signIn(page, admin, tab('variables'));
    await expect(page.getByText('This workspace has no variables of its own.')).toBeVisible();
    await expect.poll(stream.connected).toBe(true);
    const v = await createVar(ws.id, { key: 'arrived', value: 'live' });
    stream.send({ event: 'workspace_variable_change', var_id: v.id, action: 'created' });
    await expect(page.locator('tr[data-var="arrived"]')).toContainText('live');

    await page.goto(tab('state'));
    await expect(page.locator('tr[data-serial="1"]')).toContainText('Current');
    await uploadState(ws.id, stateOf(2, { a: '2' }));
    stream.send({ event: 'state_version_created', state_version_id: 'sv-x', serial: 2 });
    await expect(page.locator('tr[data-serial="2"]')).toContainText('Current');
    await expect(page.getByTestId('outputs')).toContainText('2');

    await page.goto(tab('runs'));
    await expect(page.getByText('This workspace has no runs yet.')).toBeVisible();
    const { json } = await api('POST', '/api/v2/runs', { body: { data: { type: 'runs',
        attributes: { 'plan-only': true, message: 'queued elsewhere' },
        relationships: { workspace: { data: { type: 'workspaces', id: ws.id } } } } } });
    stream.send({ event: 'run_status_change', run_id: json.data.id, status: 'pending', previous_status: '' });
    await expect(page.locator(`tr[data-run="${json.data.id}"]`)).toContainText('queued elsewhere');

    await page.goto(tab('configurations'));
    await expect(page.locator('tbody tr')).toHaveCount(1);
    await uploadFiles(ws.id, { 'main.tf': 'output "x" {\n  value = 2\n}\n' });
    stream.send({ event: 'run_status_change', run_id: json.data.id, status: 'planning', previous_status: 'pending' });
    await expect(page.locator('tbody tr')).toHaveCount(2);

    // a change someone else saved reaches the settings form
    await page.goto(tab('settings'));
    await expect(page.getByLabel('Description')).toHaveValue('');
    await api('PATCH', `/api/v2/workspaces/${ws.id}`, {
        body: { data: { type: 'workspaces', attributes: { description: 'changed elsewhere' } } },
    });
    stream.send({ event: 'workspace_updated' });
    await expect(page.getByLabel('Description')).toHaveValue('changed elsewhere');
    expectClean(page);
});
