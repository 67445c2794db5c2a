'use strict';
// The instance under test, as t/run-all's compat suite describes it in the
// environment (TERRAPOD_URL, TERRAPOD_TOKEN, and NODE_EXTRA_CA_CERTS naming
// the instance's CA), and what the tests share: a TFE client pointed at
// it, a configuration tarball, and waiting for a run to settle.
const { TerraformCloud } = require('@skorfmann/terraform-cloud');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

function setting(name) {
    const value = process.env[name];
    if (!value) {
        throw new Error(`${name} is not set: run these tests with ` +
                        'TP_SUITES=compat t/run-all');
    }
    return value;
}

const url = new URL(setting('TERRAPOD_URL'));
const token = setting('TERRAPOD_TOKEN');
// read by node itself at start: without it every call fails on TLS
setting('NODE_EXTRA_CA_CERTS');

// the one organization an instance serves
const ORG = 'default';

// Run states that are neither a stop for confirmation nor an end: cdktf
// polls while a run is in them (its pendingStates and deployingStates).
const MOVING = [
    'pending', 'fetching', 'fetching_completed', 'pre_plan_running',
    'pre_plan_completed', 'queuing', 'plan_queued', 'planning',
    'cost_estimating', 'cost_estimated', 'policy_checking',
    'policy_override', 'policy_checked', 'post_plan_running',
    'post_plan_completed', 'confirmed', 'apply_queued', 'applying',
];

function client() {
    // the client takes a host name and always speaks https, as cdktf
    // builds it from the backend's hostname
    const tfc = new TerraformCloud(token, url.host);
    // a failed call says what the server answered, not only its status;
    // answers that succeed go through the client untouched
    tfc.client.interceptors.response.use(undefined, (err) => {
        if (err.response) {
            err.message += ` (${err.config.method.toUpperCase()} ${err.config.url}:` +
                ` ${JSON.stringify(err.response.data)})`;
        }
        throw err;
    });
    return tfc;
}

// a name no earlier run of the suite against the same instance used
function uniqueName(prefix) {
    return `${prefix}-${process.pid}-${Date.now().toString(36)}`;
}

// files ({name: text}) as the tar.gz a configuration version takes
function configTarball(files) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tp-compat-'));
    try {
        for (const [name, text] of Object.entries(files)) {
            fs.writeFileSync(path.join(dir, name), text);
        }
        return execFileSync('tar', ['-czf', '-', '-C', dir, '.']);
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Calls read() until done(answer) holds; fails after timeoutMs with the
// last answer.
async function poll(read, done, timeoutMs, what) {
    const deadline = Date.now() + timeoutMs;
    let answer = await read();
    while (!done(answer)) {
        if (Date.now() > deadline) {
            throw new Error(`${what}: still ${JSON.stringify(answer.attributes)} ` +
                            `after ${timeoutMs / 1000}s`);
        }
        await sleep(500);
        answer = await read();
    }
    return answer;
}

// The run once the listener has taken it as far as it goes unattended.
function settledRun(tfc, runId) {
    return poll(() => tfc.Runs.show(runId),
                (run) => !MOVING.includes(run.attributes.status),
                180000, `run ${runId}`);
}

module.exports = { ORG, client, uniqueName, configTarball, poll, settledRun };
