// Playwright against the instance t/run-all's ui suite starts (its address
// and credentials in the environment: lib/instance.js), in Debian's
// Chromium, which trusts the instance's CA through an NSS database of its
// own (lib/trust.js).
'use strict';
const { defineConfig } = require('@playwright/test');
const { baseURL } = require('./lib/instance');
const { launchOptions } = require('./lib/trust');

module.exports = defineConfig({
    testDir: '.',
    testMatch: '*.spec.js',
    // one instance, one browser: tests run one after another
    workers: 1,
    fullyParallel: false,
    retries: 0,
    timeout: 180000,
    expect: { timeout: 20000 },
    reporter: [[require.resolve('./lib/tap-reporter.js')]],
    outputDir: process.env.TP_UI_OUTPUT || 'test-results',
    use: {
        baseURL,
        launchOptions: launchOptions(),
        trace: 'off',
        screenshot: 'only-on-failure',
    },
});
