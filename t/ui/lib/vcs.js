// Repositories and a VCS provider for the tests of the version control
// pages: a bare git repository made on disk, served by the suite's fake
// GitLab (t/lib/TP/FakeGitLab.pm, the same server the HTTP tests use),
// started as a Perl process of its own for the length of a test.
'use strict';
const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { api } = require('./instance');

const SRC = path.resolve(__dirname, '../../..');

function git(...args) {
    return execFileSync('git', args, { encoding: 'utf8', env: { ...process.env,
        GIT_AUTHOR_NAME: 'Dev', GIT_AUTHOR_EMAIL: 'dev@example.com',
        GIT_COMMITTER_NAME: 'Dev', GIT_COMMITTER_EMAIL: 'dev@example.com' } }).trim();
}

/**
 * A bare repository with a configuration on main (main.tf, or the files
 * given by path), a branch feature/x and a tag v1; the commits of each by
 * name.
 * @param {Record<string, string>} [files]
 */
function makeRepo(files = { 'main.tf': 'output "where" { value = "main" }\n' }) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tp-ui-vcs-'));
    const work = path.join(dir, 'work');
    git('init', '-q', '-b', 'main', work);
    for (const [name, text] of Object.entries(files)) {
        fs.mkdirSync(path.dirname(path.join(work, name)), { recursive: true });
        fs.writeFileSync(path.join(work, name), text);
    }
    git('-C', work, 'add', '.');
    git('-C', work, 'commit', '-q', '-m', 'First configuration');
    git('-C', work, 'tag', 'v1');
    git('-C', work, 'checkout', '-q', '-b', 'feature/x');
    fs.writeFileSync(path.join(work, 'feature.tf'), 'output "feature" { value = true }\n');
    git('-C', work, 'add', '.');
    git('-C', work, 'commit', '-q', '-m', 'A feature');
    git('-C', work, 'checkout', '-q', 'main');
    git('clone', '-q', '--bare', work, path.join(dir, 'infra.git'));
    const sha = Object.fromEntries(['main', 'feature/x', 'v1'].map((r) => [r, git('-C', work, 'rev-parse', `${r}^{commit}`)]));
    return { dir, bare: path.join(dir, 'infra.git'), sha, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

function freePort() {
    return new Promise((resolve, reject) => {
        const s = net.createServer();
        s.on('error', reject);
        s.listen(0, '127.0.0.1', () => {
            const { port } = s.address();
            s.close(() => resolve(port));
        });
    });
}

const SERVE = `
use TP::FakeGitLab;
my ($port, $token, $project, $bare) = @ARGV;
my $f = TP::FakeGitLab->new(port => $port, token => $token, username => 'ci-bot',
                            projects => {$project => $bare})->start;
$| = 1;
print "ready\\n";
<STDIN>;
$f->stop;
`;

/**
 * The fake GitLab serving one project until stop(): its web address
 * (the connection's server-url) and the project's repository URL.
 */
async function startGitLab({ token, project, bare }) {
    const port = await freePort();
    const child = spawn('perl', ['-I', path.join(SRC, 't/lib'), '-e', SERVE, String(port), token, project, bare],
        { stdio: ['pipe', 'pipe', 'inherit'] });
    await new Promise((resolve, reject) => {
        child.on('error', reject);
        child.on('exit', (code) => reject(new Error(`the fake GitLab exited (${code})`)));
        child.stdout.on('data', (d) => String(d).includes('ready') && resolve());
    });
    const base = `http://127.0.0.1:${port}`;
    let stopped = false;
    return {
        base,
        repoUrl: `${base}/${project}`,
        /** Asks the fake to behave otherwise (TP::FakeVCS's /_fake/ controls). */
        control: async (what, body) => {
            const res = await fetch(`${base}/_fake/${what}`, { method: 'POST', body: JSON.stringify(body) });
            if (!res.ok) {
                throw new Error(`the fake GitLab refused ${what}: ${res.status}`);
            }
        },
        stop: () => new Promise((resolve) => {
            if (stopped) {
                resolve();
                return;
            }
            stopped = true;
            child.removeAllListeners('exit');
            child.on('exit', () => resolve());
            child.stdin.end();
        }),
    };
}

/** A GitLab connection made through the API. */
async function createGitLabConnection(name, serverUrl, token) {
    const { json } = await api('POST', '/api/terrapod/v1/vcs-connections', {
        body: { data: { type: 'vcs-connections', attributes: {
            name, provider: 'gitlab', 'server-url': serverUrl, token } } },
    });
    return json.data;
}

/**
 * One statement on the instance's database, as its service user (as
 * tools/tp-instance runs psql), with :'name' variables bound from vars:
 * for states only the server's background work reaches.
 * @param {string} sql
 * @param {Record<string, string>} vars
 */
function psql(sql, vars = {}) {
    const bin = path.join(process.env.PG_BINDIR || '', 'psql');
    const as = process.getuid && process.getuid() === 0 ? ['runuser', '-u', 'terrapod', '--'] : [];
    const args = [...as, bin, '-X', '-q', '-v', 'ON_ERROR_STOP=1',
        `host=${process.env.TP_INSTANCE}/run dbname=terrapod user=terrapod`, '-tA',
        ...Object.entries(vars).flatMap(([k, v]) => ['-v', `${k}=${v}`])];
    return execFileSync(args[0], args.slice(1), { input: sql, encoding: 'utf8' }).trim();
}

module.exports = { makeRepo, startGitLab, createGitLabConnection, psql };
