// The API reference page (dist/api-docs.html): Swagger UI from the pinned
// swagger-ui-dist package, copied into dist/assets under names hashed from
// their content, and the page's own small script. Swagger UI's style sheet
// draws its icons from data: URLs, which the UI's Content-Security-Policy
// (default-src 'self') refuses: each becomes a file of its own beside it.
import * as esbuild from 'esbuild';
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

const EXT = { 'image/svg+xml': 'svg', 'image/png': 'png', 'image/jpeg': 'jpg', 'image/gif': 'gif' };

/** @param {string|Buffer} data @returns {string} */
function hash(data) {
    return createHash('sha256').update(data).digest('hex').slice(0, 12);
}

/**
 * Writes bytes under assets/ as prefix-HASH.ext; answers the file's name.
 * @param {string} assets @param {string} prefix @param {string} ext @param {string|Buffer} data
 */
async function emit(assets, prefix, ext, data) {
    const name = `${prefix}-${hash(data)}.${ext}`;
    await writeFile(path.join(assets, name), data);
    return name;
}

/**
 * The style sheet with every url(data:…) replaced by a file of its own.
 * @param {string} css
 * @param {string} assets
 * @returns {Promise<string>}
 */
export async function externalizeDataURLs(css, assets) {
    const re = /url\(\s*(["']?)data:([a-z]+\/[a-z0-9.+-]+)((?:;[a-z0-9-]+(?:=[^;,]*)?)*),((?:\\.|(?!\1\)).)*?)\1\s*\)/gi;
    const found = [...css.matchAll(re)];
    const names = await Promise.all(found.map((m) => {
        const [, quote, mime, params, payload] = m;
        const ext = EXT[/** @type {keyof typeof EXT} */ (mime.toLowerCase())];
        if (!ext) {
            throw new Error(`swagger-ui.css: no file type for data: URLs of ${mime}`);
        }
        const raw = quote ? payload.replace(/\\(.)/g, '$1') : payload;
        const data = /;base64/i.test(params) ? Buffer.from(raw, 'base64') : decodeURIComponent(raw);
        return emit(assets, 'swagger-ui-image', ext, data);
    }));
    let i = 0;
    return css.replace(re, () => `url(${names[i++]})`);
}

/**
 * @param {string} here the ui directory
 * @param {string} dist
 */
export async function buildApiDocs(here, dist) {
    const assets = path.join(dist, 'assets');
    const pkg = path.join(here, 'node_modules', 'swagger-ui-dist');
    // their source maps are not shipped: the comments naming them go
    const noMap = (/** @type {string} */ s) => s.replace(/\n?\/[/*]# sourceMappingURL=\S+(?: \*\/)?\s*$/, '\n');
    const bundle = await emit(assets, 'swagger-ui-bundle', 'js',
        noMap(await readFile(path.join(pkg, 'swagger-ui-bundle.js'), 'utf8')));
    const css = await emit(assets, 'swagger-ui', 'css',
        await externalizeDataURLs(noMap(await readFile(path.join(pkg, 'swagger-ui.css'), 'utf8')), assets));
    const result = await esbuild.build({
        entryPoints: { 'api-docs': path.join(here, 'src/api-docs/main.js') },
        bundle: true,
        minify: true,
        format: 'esm',
        target: ['es2020'],
        outdir: assets,
        entryNames: '[name]-[hash]',
        metafile: true,
        legalComments: 'none',
        logLevel: 'warning',
    });
    const outputs = Object.keys(result.metafile.outputs).map((f) => path.basename(f));
    const own = outputs.filter((f) => f.endsWith('.js') || f.endsWith('.css'));
    const page = (await readFile(path.join(here, 'src/api-docs/index.html'), 'utf8'))
        .replace('@SWAGGER_JS@', bundle).replace('@SWAGGER_CSS@', css)
        .replace('@JS@', /** @type {string} */ (own.find((f) => f.endsWith('.js'))))
        .replace('@CSS@', /** @type {string} */ (own.find((f) => f.endsWith('.css'))));
    await writeFile(path.join(dist, 'api-docs.html'), page);
}
