// What a first page load transfers: index.html, then the script and the
// style sheet it names, gzip-compressed as the server sends them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const dist = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'dist');
const BUDGET = 150 * 1024;

test('the first page load transfers at most 150 KB of JS and CSS (gzip)', () => {
    const index = readFileSync(path.join(dist, 'index.html'), 'utf8');
    const assets = [...index.matchAll(/(?:src|href)="(assets\/[^"]+)"/g)].map((m) => m[1]);
    assert.ok(assets.some((a) => a.endsWith('.js')) && assets.some((a) => a.endsWith('.css')),
        `index.html names a script and a style sheet: ${assets}`);
    const total = assets.reduce((n, a) => n + gzipSync(readFileSync(path.join(dist, a)), { level: 6 }).length, 0);
    assert.ok(total <= BUDGET, `${total} bytes > ${BUDGET}`);
});

test('index.html has no inline script or style (the CSP allows none)', () => {
    const index = readFileSync(path.join(dist, 'index.html'), 'utf8');
    assert.doesNotMatch(index, /<script(?![^>]*\bsrc=)[^>]*>/);
    assert.doesNotMatch(index, /<style|\sstyle=|\son[a-z]+=/i);
    assert.doesNotMatch(index, /<(?:script|link)[^>]*(?:src|href)="\//,
        'asset addresses are relative to <base>');
});
