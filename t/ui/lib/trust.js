// Chromium on Linux trusts the certificates of the NSS database under
// $HOME/.pki/nssdb: the browser runs with a HOME of its own whose database
// holds the instance's CA, so TLS is verified as for any real site. The
// HOME lives in the instance's directory (TP_INSTANCE), made once for the
// runner and its workers, and goes with the instance.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

let home = null;

function browserHome() {
    if (home) {
        return home;
    }
    const ca = process.env.TERRAPOD_CA_FILE;
    if (!ca) {
        throw new Error('TERRAPOD_CA_FILE is not set: run these tests with TP_SUITES=ui t/run-all');
    }
    home = process.env.TP_INSTANCE
        ? path.join(process.env.TP_INSTANCE, 'browser-home')
        : fs.mkdtempSync(path.join(os.tmpdir(), 'tp-ui-browser-'));
    const db = path.join(home, '.pki', 'nssdb');
    if (!fs.existsSync(path.join(db, 'cert9.db'))) {
        fs.mkdirSync(db, { recursive: true });
        execFileSync('certutil', ['-d', `sql:${db}`, '-N', '--empty-password']);
        execFileSync('certutil', ['-d', `sql:${db}`, '-A', '-t', 'C,,', '-n', 'terrapod test CA',
                                  '-i', ca]);
    }
    return home;
}

module.exports = { browserHome };
