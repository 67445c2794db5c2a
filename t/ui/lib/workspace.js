// What the workspace tab tests set up through the API: people with a role
// on one workspace, state versions, configuration versions (a tarball made
// with tar), and variables.
'use strict';
const { execFileSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { api, unique } = require('./instance');

/**
 * A person who signs in with a password and holds one role granting
 * `level` on the workspace named `wsName` only; their credentials.
 */
async function personWithLevel(wsName, level) {
    const email = `${unique(level)}@example.com`;
    const password = `Pw-${unique('x')}-9z`;
    const role = unique(`ws-${level}`);
    await api('POST', '/api/terrapod/v1/users', {
        body: { data: { type: 'users', attributes: { email, password } } },
    });
    await api('POST', '/api/terrapod/v1/roles', {
        body: { data: { type: 'roles', attributes: {
            name: role, 'workspace-permission': level, 'allow-names': [wsName] } } },
    });
    await api('PUT', '/api/terrapod/v1/role-assignments', {
        body: { data: { type: 'role-assignments', attributes: {
            'provider-name': 'local', email, roles: [role] } } },
    });
    return { email, password };
}

/** A terraform state as terraform writes it, with outputs. */
function stateOf(serial, outputs) {
    return {
        version: 4,
        terraform_version: '1.11.4',
        serial,
        lineage: 'ui-test-lineage',
        outputs: Object.fromEntries(Object.entries(outputs).map(([k, v]) => [k, { value: v, type: 'string' }])),
        resources: [],
        check_results: null,
    };
}

/**
 * Stores a state as a new version under its own serial, the way older
 * terraform clients send it (inline); its document.
 */
async function uploadState(wsId, state) {
    const raw = JSON.stringify(state);
    const { json } = await api('POST', `/api/v2/workspaces/${wsId}/state-versions`, {
        body: { data: { type: 'state-versions', attributes: {
            serial: state.serial, lineage: state.lineage,
            md5: crypto.createHash('md5').update(raw).digest('hex'),
            state: Buffer.from(raw).toString('base64'),
        } } },
    });
    return json.data;
}

/** Uploads files ({path: content}) as a configuration version; its id. */
async function uploadConfig(wsId, files) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tp-ui-cv-'));
    try {
        for (const [name, content] of Object.entries(files)) {
            fs.mkdirSync(path.dirname(path.join(dir, 'src', name)), { recursive: true });
            fs.writeFileSync(path.join(dir, 'src', name), content);
        }
        execFileSync('tar', ['-czf', path.join(dir, 'cv.tar.gz'), '-C', path.join(dir, 'src'),
            ...Object.keys(files)]);
        const { json } = await api('POST', `/api/v2/workspaces/${wsId}/configuration-versions`, {
            body: { data: { type: 'configuration-versions', attributes: { 'auto-queue-runs': false } } },
        });
        const res = await fetch(json.data.attributes['upload-url'], {
            method: 'PUT',
            headers: { 'Content-Type': 'application/octet-stream' },
            body: fs.readFileSync(path.join(dir, 'cv.tar.gz')),
        });
        if (res.status !== 200) {
            throw new Error(`configuration upload: ${res.status} ${await res.text()}`);
        }
        return json.data.id;
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

async function createVar(wsId, attributes) {
    const { json } = await api('POST', `/api/v2/workspaces/${wsId}/vars`, {
        body: { data: { type: 'vars', attributes: { category: 'terraform', ...attributes } } },
    });
    return json.data;
}

async function listVars(wsId) {
    return (await api('GET', `/api/v2/workspaces/${wsId}/vars`)).json.data;
}

module.exports = { personWithLevel, stateOf, uploadState, uploadConfig, createVar, listVars };
