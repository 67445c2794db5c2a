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
    const send = () => fetch(new URL(path, baseURL), {
        method,
        headers: {
            Authorization: `Bearer ${token}`,
            'Content-Type': 'application/vnd.api+json',
        },
        body: body === undefined ? undefined : JSON.stringify(body),
    });
    // the suite runs with the default rate limits, which the pages under
    // test share with these calls: a 429 is waited out as the UI does
    let res = await send();
    for (let tries = 1; res.status === 429 && tries < 5; tries++) {
        const wait = Number(res.headers.get('Retry-After')) || 1;
        await new Promise((resolve) => setTimeout(resolve, wait * 1000));
        res = await send();
    }
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

/** A person with a password and exactly the roles named. */
async function createUser(email, password, roles = []) {
    await api('POST', '/api/terrapod/v1/users', {
        body: { data: { type: 'users', attributes: { email, password } } },
    });
    await api('PUT', '/api/terrapod/v1/role-assignments', {
        body: { data: { type: 'role-assignments', attributes: {
            'provider-name': 'local', email, roles } } },
    });
    return { email, password };
}

async function createRole(name, attributes) {
    await api('POST', '/api/terrapod/v1/roles', {
        body: { data: { type: 'roles', attributes: { name, ...attributes } } },
    });
}

/** Calls fn until it returns a truthy value (at most `seconds`). */
async function until(seconds, what, fn) {
    const end = Date.now() + seconds * 1000;
    for (;;) {
        const v = await fn();
        if (v) {
            return v;
        }
        if (Date.now() > end) {
            throw new Error(`waited ${seconds} s for ${what}`);
        }
        await new Promise((r) => setTimeout(r, 500));
    }
}

async function runStatus(id) {
    const { json } = await api('GET', `/api/v2/runs/${id}`);
    return json.data.attributes.status;
}

/** Whether the server has live event streams (the UI works without). */
async function hasLiveEvents() {
    const res = await fetch(new URL('/api/terrapod/v1/workspace-events', baseURL), {
        headers: { Authorization: `Bearer ${admin.token}` },
        signal: AbortSignal.timeout(5000),
    }).catch(() => null);
    if (res && res.body) {
        res.body.cancel().catch(() => {});
    }
    return !!res && res.status !== 404;
}

module.exports = {
    baseURL, admin, ORG, api, unique, createWorkspace, createUser, createRole, until,
    runStatus, hasLiveEvents,
};
