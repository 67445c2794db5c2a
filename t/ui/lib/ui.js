// What the tests do in the browser as a person would, and the checks every
// page must pass: no Content-Security-Policy violation, no serious or
// critical accessibility violation (axe).
'use strict';
const { expect } = require('@playwright/test');
const AxeBuilder = require('@axe-core/playwright').default;

/**
 * Records the page's CSP violations and uncaught errors; check with
 * expectClean(page).
 */
function watch(page) {
    page.problems = [];
    page.on('console', (msg) => {
        if (msg.type() === 'error' && /Content Security Policy/i.test(msg.text())) {
            page.problems.push(`CSP: ${msg.text()}`);
        }
    });
    page.on('pageerror', (err) => page.problems.push(`uncaught: ${err.message}`));
}

function expectClean(page) {
    expect(page.problems || []).toEqual([]);
}

/**
 * Signs in through the module's sign-in form, starting from `path` (which
 * sends a person who is not signed in there), and waits to be back.
 */
async function signIn(page, who, path = '/') {
    watch(page);
    await page.goto(path);
    await expect(page).toHaveURL(/\/api\/terrapod\/v1\/auth\/authorize\?/);
    await submitSignIn(page, who);
    await expect(page).not.toHaveURL(/\/api\/terrapod\/v1\/auth\//);
}

/** Fills in and sends the module's sign-in form the page shows. */
async function submitSignIn(page, { email, password }) {
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
}

/** An axe scan of the page as it is: no serious or critical violation. */
async function expectAccessible(page) {
    const { violations } = await new AxeBuilder({ page }).analyze();
    const bad = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
        .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
    expect(bad).toEqual([]);
}

module.exports = { watch, expectClean, signIn, submitSignIn, expectAccessible };
