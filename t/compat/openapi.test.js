'use strict';
// The instance's OpenAPI document through @readme/openapi-parser, the
// validator ReadMe's API tooling uses: the OpenAPI 3.1 schema, every $ref
// resolving, path parameters declared, operationIds unique. The same
// validator refusing a broken copy of the document shows that it checks.
const test = require('node:test');
const assert = require('node:assert/strict');
const https = require('node:https');
const OpenAPIParser = require('@readme/openapi-parser');

const base = process.env.TERRAPOD_URL;

// the document, fetched without a token: it is open
function fetchDocument() {
    return new Promise((resolve, reject) => {
        https.get(new URL('/api/terrapod/v1/openapi.json', base), (res) => {
            let body = '';
            res.setEncoding('utf8');
            res.on('data', (chunk) => { body += chunk; });
            res.on('end', () => {
                if (res.statusCode !== 200) {
                    reject(new Error(`GET openapi.json: ${res.statusCode} ${body}`));
                    return;
                }
                resolve(JSON.parse(body));
            });
        }).on('error', reject);
    });
}

let doc;

test.before(async () => {
    assert.ok(base, 'TERRAPOD_URL is not set: run with TP_SUITES=compat t/run-all');
    doc = await fetchDocument();
});

test('the document is a valid OpenAPI 3.1 description', async () => {
    // the parser dereferences what it validates: give it a copy
    const api = await OpenAPIParser.validate(structuredClone(doc));
    assert.equal(api.openapi, '3.1.0');
    assert.equal(api.servers[0].url, base.replace(/\/$/, ''));
    assert.ok(Object.keys(api.paths).length > 100, 'the API has its paths');
});

test('it resolves the schemas the operations answer with', async () => {
    const api = await OpenAPIParser.dereference(structuredClone(doc));
    const answer = api.paths['/api/v2/workspaces/{id}'].get
        .responses['200'].content['application/json'].schema;
    assert.equal(answer.properties.data.properties.type.const, 'workspaces');
    assert.deepEqual(answer.properties.data.properties.attributes
        .properties.name.type, ['string', 'null']);
});

test('the validator refuses a missing path parameter', async () => {
    const broken = structuredClone(doc);
    broken.paths['/api/v2/workspaces/{id}'].get.parameters = [];
    await assert.rejects(OpenAPIParser.validate(broken),
                         /missing path parameter\(s\) for \{id\}/);
});

test('the validator refuses a reference to nothing', async () => {
    const broken = structuredClone(doc);
    broken.paths['/health'].get.responses.default.content['application/json']
        .schema.$ref = '#/components/schemas/absent';
    await assert.rejects(OpenAPIParser.validate(broken), /absent/);
});
