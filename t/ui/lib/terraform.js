// The real terraform CLI against the instance, as a person runs it: a
// configuration with a cloud block naming a workspace, credentials and CA
// from the environment t/run-all sets (TF_CLI_CONFIG_FILE, SSL_CERT_FILE).
'use strict';
const { execFile, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { baseURL, api, ORG } = require('./instance');

const HOST = new URL(baseURL).host;

/** A directory holding a configuration for workspace `name`. */
function configDir(name, body) {
    const dir = fs.mkdtempSync(path.join(process.env.TP_INSTANCE || os.tmpdir(), 'ui-tf-'));
    fs.writeFileSync(path.join(dir, 'main.tf'), `terraform {
  cloud {
    hostname     = "${HOST}"
    organization = "${ORG}"
    workspaces {
      name = "${name}"
    }
  }
}
${body}`);
    return dir;
}

/** terraform ARGS in dir: {code, out}. */
function terraform(dir, ...args) {
    return new Promise((resolve) => {
        execFile('terraform', [`-chdir=${dir}`, ...args], {
            env: { ...process.env, CHECKPOINT_DISABLE: '1', TF_IN_AUTOMATION: '1', TF_INPUT: '0' },
            timeout: 300000,
            maxBuffer: 16 * 1024 * 1024,
        }, (err, stdout, stderr) => resolve({
            code: err ? (typeof err.code === 'number' ? err.code : 1) : 0,
            out: stdout + stderr,
        }));
    });
}

/** Uploads dir as a new configuration version of workspace id; its id. */
async function uploadConfig(wsId, dir) {
    const { json } = await api('POST', `/api/v2/workspaces/${wsId}/configuration-versions`, {
        body: { data: { type: 'configuration-versions', attributes: { 'auto-queue-runs': false } } },
    });
    const tgz = execFileSync('tar', ['-C', dir, '-czf', '-', '--exclude=.terraform', 'main.tf']);
    const res = await fetch(json.data.attributes['upload-url'], {
        method: 'PUT', headers: { 'Content-Type': 'application/octet-stream' }, body: tgz,
    });
    if (!res.ok) {
        throw new Error(`upload: ${res.status} ${await res.text()}`);
    }
    return json.data.id;
}

/** Starts a run of the newest configuration of workspace id; its id. */
async function queueRun(wsId, cvId, attributes = {}) {
    const { json } = await api('POST', '/api/v2/runs', {
        body: { data: { type: 'runs', attributes, relationships: {
            workspace: { data: { type: 'workspaces', id: wsId } },
            'configuration-version': { data: { type: 'configuration-versions', id: cvId } },
        } } },
    });
    return json.data.id;
}

module.exports = { configDir, terraform, uploadConfig, queueRun };
