// Builds dist/: index.html and the bundled, minified script and style
// sheet under assets/ with content hashes in their names (so they can be
// cached for good while index.html is always checked again).
import * as esbuild from 'esbuild';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildApiDocs } from './build-api-docs.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const dist = path.join(here, 'dist');

await rm(dist, { recursive: true, force: true });
await mkdir(path.join(dist, 'assets'), { recursive: true });
const result = await esbuild.build({
    entryPoints: { app: path.join(here, 'src/main.js') },
    bundle: true,
    minify: true,
    format: 'esm',
    target: ['es2020'],
    outdir: path.join(dist, 'assets'),
    entryNames: '[name]-[hash]',
    metafile: true,
    legalComments: 'none',
    logLevel: 'warning',
});
const outputs = Object.keys(result.metafile.outputs).map((f) => path.basename(f));
const js = outputs.find((f) => f.endsWith('.js'));
const css = outputs.find((f) => f.endsWith('.css'));
if (!js || !css) {
    throw new Error(`the build made no script or no style sheet: ${outputs.join(', ')}`);
}
const page = (await readFile(path.join(here, 'src/index.html'), 'utf8'))
    .replace('@JS@', js).replace('@CSS@', css);
await writeFile(path.join(dist, 'index.html'), page);
await buildApiDocs(here, dist);
