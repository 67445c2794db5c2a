// The API page and the Swagger UI reference: the OpenAPI document is read
// from this instance and nothing is asked of any other host; "Try it out"
// calls the API as the signed-in person; a server without the document
// says so plainly.
'use strict';
const { test, expect } = require('@playwright/test');
const { admin, api, baseURL } = require('./lib/instance');
const { signIn, expectClean, expectAccessible } = require('./lib/ui');

const OPENAPI = '/api/terrapod/v1/openapi.json';

/** Records the requests that leave the instance's origin. */
function requestsElsewhere(page) {
    const origin = new URL(baseURL).origin;
    const elsewhere = [];
    page.on('request', (req) => {
        if (new URL(req.url()).origin !== origin) {
            elsewhere.push(req.url());
        }
    });
    return elsewhere;
}

test('the API page and Swagger UI show the server\'s document, or say there is none', async ({ page }) => {
    const elsewhere = requestsElsewhere(page);
    const { status, json } = await api('GET', OPENAPI, { expect: [200, 404] });
    await signIn(page, admin, '/app/api');
    await expect(page.getByRole('heading', { name: 'API', level: 1 })).toBeVisible();
    if (status === 404) {
        await expect(page.getByText('This server does not publish an API description')).toBeVisible();
        await expectAccessible(page);
        await page.goto('/api-docs.html');
        await expect(page.getByRole('alert')).toContainText(`This server does not publish an API description: ${OPENAPI} answered 404.`);
        await expectAccessible(page);
    } else {
        await expect(page.getByText(`${Object.keys(json.paths).length} paths`)).toBeVisible();
        await expectAccessible(page);
        await page.getByRole('link', { name: 'Open the interactive reference (Swagger UI)' }).click();
        await expect(page).toHaveURL(/\/api-docs\.html$/);
        await expect(page.locator('.swagger-ui .info .title')).toContainText(json.info.title);
        await expect(page.locator('.opblock').first()).toBeVisible();
        await expectAccessible(page);
    }
    await page.waitForLoadState('networkidle');
    expect(elsewhere).toEqual([]);
    expectClean(page);
});

// A document of two real endpoints, so that this holds whatever document
// the server publishes: the calls themselves go to the instance.
const DOCUMENT = {
    openapi: '3.0.3',
    info: { title: 'Terrapod test description', version: '1' },
    paths: {
        '/api/v2/account/details': { get: { operationId: 'accountDetails', responses: { 200: { description: 'ok' } } } },
        '/api/v2/account/update': { patch: {
            operationId: 'accountUpdate',
            requestBody: { required: true, content: { 'application/vnd.api+json': { schema: { type: 'object' },
                example: { data: { type: 'users', attributes: { username: 'Renamed in Swagger UI' } } } } } },
            responses: { 200: { description: 'ok' } },
        } },
    },
};

test('Try it out calls the API with the person\'s session and CSRF token', async ({ page }) => {
    const elsewhere = requestsElsewhere(page);
    await page.route(`**${OPENAPI}`, (route) => route.fulfill({ json: DOCUMENT }));
    const before = (await api('GET', '/api/v2/account/details')).json.data.attributes['display-name'];
    await signIn(page, admin, '/app/api');
    await page.goto('/api-docs.html');
    await expect(page.locator('.swagger-ui .info .title')).toContainText('Terrapod test description');
    const op = page.locator('.opblock-patch');
    await op.locator('.opblock-summary').click();
    await op.getByRole('button', { name: 'Try it out' }).click();
    const sent = page.waitForRequest((r) => r.url().endsWith('/api/v2/account/update'));
    await op.getByRole('button', { name: 'Execute' }).click();
    const req = await sent;
    const csrf = (await page.context().cookies()).find((c) => c.name === 'terrapod_csrf').value;
    expect(req.headers()['x-csrf-token']).toBe(csrf);
    await expect(op.locator('.live-responses-table tbody .response-col_status').first()).toHaveText('200');
    const { json } = await api('GET', '/api/v2/account/details');
    expect(json.data.attributes['display-name']).toBe('Renamed in Swagger UI');
    await api('PATCH', '/api/v2/account/update', {
        body: { data: { type: 'users', attributes: { username: before || '' } } } });
    await expectAccessible(page);
    expect(elsewhere).toEqual([]);
    expectClean(page);
});
