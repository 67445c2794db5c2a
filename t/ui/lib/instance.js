// The instance under test, as t/run-all's ui suite describes it in the
// environment (TERRAPOD_URL, the admin's credentials and token, and
// NODE_EXTRA_CA_CERTS naming the instance's CA), and API calls the tests
// make to set things up or check them.
'use strict';

function setting(name) {
    const value = process.env[name];
    if (!value) {
        throw new Error(`${name} is not set: run these tests with TP_SUITES=ui t/run-all`);
    }
    return value;
}

const baseURL = setting('TERRAPOD_URL');
const admin = {
    email: setting('TERRAPOD_ADMIN_EMAIL'),
    password: setting('TERRAPOD_ADMIN_PASSWORD'),
    token: setting('TERRAPOD_TOKEN'),
};
// read by node itself at start: without it every call fails on TLS
setting('NODE_EXTRA_CA_CERTS');

const ORG = 'default';

/**
 * One API call with a token; the parsed answer, or an Error saying what
 * the server answered. `expect` names the statuses that are not errors.
 */
async function api(method, path, { body, token = admin.token, expect = [200, 201, 202, 204] } = {}) {
    const res = await fetch(new URL(path, baseURL), {
        method,
        headers: {
            Authorization: `Bearer ${token}`,
            'Content-Type': 'application/vnd.api+json',
        },
        body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    const json = text ? JSON.parse(text) : null;
    if (!expect.includes(res.status)) {
        throw new Error(`${method} ${path}: ${res.status} ${text}`);
    }
    return { status: res.status, json };
}

/** A name no earlier test used. */
function unique(prefix) {
    return `${prefix}-${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
}

async function createWorkspace(name, attributes = {}) {
    const { json } = await api('POST', `/api/v2/organizations/${ORG}/workspaces`, {
        body: { data: { type: 'workspaces', attributes: { name, ...attributes } } },
    });
    return json.data;
}

module.exports = { baseURL, admin, ORG, api, unique, createWorkspace };
