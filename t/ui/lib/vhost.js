// A second, plain Apache serving only the UI's files, set up as
// docs/ui.md's "Deploying the files elsewhere" says: ui/dist copied, its
// <base href> changed by the page's sed line, and the page's virtual host
// (read from docs/ui.md, so the page and the test cannot drift apart) with
// this machine's names and files put in for the examples'. It forwards the
// module's paths to the instance under test. Stock Debian modules only.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const SRC = path.resolve(__dirname, '..', '..', '..');
const DOC = path.join(SRC, 'docs', 'ui.md');
/** The path the page deploys the UI under. */
const PREFIX = '/tools/terraform/';

/**
 * The code block of docs/ui.md in `lang` whose first line starts with
 * `first`, without the indentation of the list item it sits in.
 */
function docSnippet(lang, first) {
    const text = fs.readFileSync(DOC, 'utf8');
    const blocks = text.matchAll(new RegExp('^( *)```' + lang + '\\n([\\s\\S]*?)^\\1```$', 'gm'));
    for (const [, indent, body] of blocks) {
        const lines = body.split('\n').map((l) => l.slice(indent.length));
        if (lines[0].startsWith(first)) {
            return lines.join('\n');
        }
    }
    throw new Error(`docs/ui.md has no ${lang} snippet starting "${first}"`);
}

/** The text with each example replaced (longest first), none left. */
function localize(text, at) {
    for (const from of Object.keys(at).sort((a, b) => b.length - a.length)) {
        text = text.split(from).join(at[from]);
    }
    if (/example\.com|\/srv\//.test(text)) {
        throw new Error(`an example is left in:\n${text}`);
    }
    return text;
}

function freePort() {
    return new Promise((resolve, reject) => {
        const s = net.createServer().listen(0, '127.0.0.1', () => {
            const { port } = /** @type {net.AddressInfo} */ (s.address());
            s.close(() => resolve(port));
        });
        s.on('error', reject);
    });
}

function apxs(what) {
    for (const cmd of ['apxs', 'apxs2']) {
        try {
            return execFileSync(cmd, ['-q', what], { encoding: 'utf8' }).trim();
        } catch {
            // the other name
        }
    }
    throw new Error('apxs is missing (./configure installs apache2-dev)');
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts the vhost; resolves to { url (its origin and the prefix), origin,
 * dir, stop() }. Its name is 127.0.0.1 where the instance is localhost, so
 * the two never share cookies.
 */
async function startVhost() {
    const inst = process.env.TP_INSTANCE;
    const backend = process.env.TERRAPOD_URL;
    if (!inst || !backend) {
        throw new Error('TP_INSTANCE and TERRAPOD_URL are not set: run with TP_SUITES=ui t/run-all');
    }
    const dir = fs.mkdtempSync(path.join(inst, 'ui-vhost-'));
    fs.chmodSync(dir, 0o755);
    const port = await freePort();
    const origin = `https://127.0.0.1:${port}`;
    const tls = path.join(inst, 'tls');
    const at = {
        '/srv/terraform-ui': path.join(dir, 'ui'),
        '*:443': `127.0.0.1:${port}`,
        'https://terraform.example.com': backend,
        '/etc/ssl/certs/www.example.com.pem': path.join(tls, 'server.pem'),
        '/etc/ssl/private/www.example.com.key': path.join(tls, 'server.key'),
        '/etc/ssl/certs/terraform.example.com-ca.pem': path.join(tls, 'ca.pem'),
        'www.example.com': '127.0.0.1',
    };

    // 1. the files, 2. the page's own sed line
    fs.cpSync(path.join(SRC, 'ui', 'dist'), path.join(dir, 'ui'), { recursive: true });
    execFileSync('sh', ['-ec', localize(docSnippet('sh', 'sed -i'), at)]);
    // 3. the virtual host, in an Apache of its own
    const vhost = localize(docSnippet('apache', '# The UI under'), at);
    if (!vhost.includes(`FallbackResource ${PREFIX}index.html`)) {
        throw new Error(`docs/ui.md's virtual host does not serve the UI under ${PREFIX}`);
    }
    const moddir = apxs('LIBEXECDIR');
    const user = os.userInfo().uid === 0 ? ['User terrapod', 'Group terrapod'] : [];
    fs.writeFileSync(path.join(dir, 'httpd.conf'), [
        `ServerRoot ${dir}`, 'ServerName 127.0.0.1', `PidFile ${dir}/httpd.pid`,
        `DefaultRuntimeDir ${dir}`, `Mutex file:${dir} default`, ...user,
        ...['mpm_event', 'authz_core', 'mime', 'alias', 'dir', 'headers', 'socache_shmcb',
            'ssl', 'proxy', 'proxy_http']
            .map((m) => `LoadModule ${m}_module ${moddir}/mod_${m}.so`),
        'TypesConfig /etc/mime.types', `ErrorLog ${dir}/error_log`, 'LogLevel warn',
        `CustomLog ${dir}/access_log "%h %t \\"%r\\" %>s %b"`,
        `SSLSessionCache shmcb:${dir}/ssl_scache(512000)`,
        `Listen 127.0.0.1:${port}`, vhost, ''].join('\n'));
    const httpd = path.join(apxs('SBINDIR'), apxs('TARGET'));
    execFileSync(httpd, ['-f', path.join(dir, 'httpd.conf'), '-k', 'start'], { stdio: 'pipe' });

    const url = origin + PREFIX;
    let ready = false;
    for (let i = 0; i < 100 && !ready; i++) {
        ready = await fetch(url).then((r) => r.ok, () => false);
        if (!ready) {
            await sleep(100);
        }
    }
    const errorLog = () => fs.readFileSync(path.join(dir, 'error_log'), 'utf8');
    const stop = async () => {
        const pidFile = path.join(dir, 'httpd.pid');
        if (!fs.existsSync(pidFile)) {
            return;
        }
        const pid = Number(fs.readFileSync(pidFile, 'utf8'));
        process.kill(pid, 'SIGTERM');
        for (let i = 0; i < 100; i++) {
            try {
                process.kill(pid, 0);
            } catch {
                return;
            }
            await sleep(100);
        }
    };
    if (!ready) {
        await stop();
        throw new Error(`the vhost did not answer at ${url}:\n${errorLog()}`);
    }
    return { url, origin, dir, stop, errorLog };
}

module.exports = { startVhost, PREFIX };
