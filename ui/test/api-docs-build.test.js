// The API reference page's build: Swagger UI's data: images become files
// of their own (the CSP refuses data: URLs), and the built page names only
// files that exist, with no inline script.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { externalizeDataURLs } from '../build-api-docs.js';

const dist = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'dist');

test('data: URLs in a style sheet become files', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tp-ui-css-'));
    const svg = '<svg xmlns="http://www.w3.org/2000/svg"><path fill="#fff" d="M0 0"/></svg>';
    const css = `.a{background:url("data:image/svg+xml;charset=utf-8,${svg.replace(/"/g, '\\"').replace('#', '%23')}")}`
        + `.b{background:url(data:image/png;base64,${Buffer.from('PNGBYTES').toString('base64')})}`
        + '.c{background:url(plain.png)}';
    const out = await externalizeDataURLs(css, dir);
    assert.doesNotMatch(out, /data:/);
    const names = [...out.matchAll(/url\(([^)]+)\)/g)].map((m) => m[1]);
    assert.equal(names.length, 3);
    assert.match(names[0], /^swagger-ui-image-[0-9a-f]{12}\.svg$/);
    assert.equal(readFileSync(path.join(dir, names[0]), 'utf8'), svg);
    assert.match(names[1], /\.png$/);
    assert.equal(readFileSync(path.join(dir, names[1]), 'utf8'), 'PNGBYTES');
    assert.equal(names[2], 'plain.png');
});

test('an image type without a file type stops the build', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tp-ui-css-'));
    await assert.rejects(externalizeDataURLs('.a{background:url(data:image/x-odd;base64,AA==)}', dir),
        /no file type/);
});

test('the built api-docs.html names files that exist, and no inline script or style', () => {
    const page = readFileSync(path.join(dist, 'api-docs.html'), 'utf8');
    const assets = [...page.matchAll(/(?:src|href)="(assets\/[^"]+)"/g)].map((m) => m[1]);
    assert.equal(assets.length, 4);
    for (const a of assets) {
        assert.ok(existsSync(path.join(dist, a)), a);
    }
    assert.doesNotMatch(page, /<script(?![^>]*\bsrc=)[^>]*>/);
    assert.doesNotMatch(page, /<style|\sstyle=|\son[a-z]+=/i);
    const css = readFileSync(path.join(dist, assets.find((a) => /swagger-ui-[0-9a-f]+\.css$/.test(a))), 'utf8');
    assert.doesNotMatch(css, /url\(\s*["']?data:/);
});
