// What the workspace tab tests set up through the API: people with a role
// on one workspace, state versions, configuration versions of several
// files, and variables.
'use strict';
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { api, unique, createUser, createRole } = require('./instance');
const { uploadConfig } = require('./terraform');

/**
 * A person who signs in with a password and holds one role granting
 * `level` on the workspace named `wsName` only; their credentials.
 */
async function personWithLevel(wsName, level) {
    const role = unique(`ws-${level}`);
    await createRole(role, { 'workspace-permission': level, 'allow-names': [wsName] });
    return createUser(`${unique(level)}@example.com`, `Pw-${unique('x')}-9z`, [role]);
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
async function uploadFiles(wsId, files) {
    const dir = fs.mkdtempSync(path.join(process.env.TP_INSTANCE || os.tmpdir(), 'ui-cv-'));
    try {
        for (const [name, content] of Object.entries(files)) {
            fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
            fs.writeFileSync(path.join(dir, name), content);
        }
        return await uploadConfig(wsId, dir, Object.keys(files));
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

module.exports = { personWithLevel, stateOf, uploadState, uploadFiles, createVar, listVars };
