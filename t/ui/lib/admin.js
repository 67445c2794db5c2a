// Tokens and pools the administration tests set up through the API, and
// a page that accepts the confirmations destructive buttons ask for.
'use strict';
const { api } = require('./instance');

const PASSWORD = 'Correct-Horse-42-battery';

/** An API token of the user with this id; the admin's token by default. */
async function createToken(userId, attributes) {
    const { json } = await api('POST', `/api/terrapod/v1/users/${userId}/authentication-tokens`, {
        body: { data: { type: 'authentication-tokens', attributes } },
    });
    return { id: json.data.id, token: json.data.attributes.token };
}

async function createPool(name) {
    const { json } = await api('POST', '/api/terrapod/v1/agent-pools', {
        body: { data: { type: 'agent-pools', attributes: { name } } },
    });
    return json.data;
}

/** The status an API call with this token gets. */
async function statusWith(token, path = '/api/v2/account/details') {
    const { status } = await api('GET', path, { token, expect: [200, 401, 403, 404] });
    return status;
}

function acceptDialogs(page) {
    page.on('dialog', (d) => d.accept());
}

module.exports = { createToken, createPool, statusWith, acceptDialogs, PASSWORD };
