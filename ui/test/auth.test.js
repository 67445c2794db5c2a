import { test } from 'node:test';
import assert from 'node:assert/strict';
import { signInURL } from '../src/lib/auth.js';

test('the sign-in address comes back to where the person was', () => {
    assert.equal(signInURL('/app/default/workspaces?search=a b'),
        '/api/terrapod/v1/auth/authorize?return_to=%2Fapp%2Fdefault%2Fworkspaces%3Fsearch%3Da%20b');
    assert.equal(signInURL('/x', 'corp'), '/api/terrapod/v1/auth/authorize?provider=corp&return_to=%2Fx');
    assert.equal(signInURL('/x', 'local'), '/api/terrapod/v1/auth/authorize?return_to=%2Fx');
});

test('a return address off this server becomes the root', () => {
    for (const bad of ['//evil.example/x', '/\\evil.example', 'https://evil.example/', 'x']) {
        assert.equal(signInURL(bad), '/api/terrapod/v1/auth/authorize?return_to=%2F', bad);
    }
});
