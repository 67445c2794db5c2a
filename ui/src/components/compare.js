// @ts-check
// Two versions picked from a list (the newest and the one before it at
// first) and their comparison shown below once asked for: the state and
// configurations tabs each bring their own diff.
import { useState } from 'preact/hooks';
import { html } from '../lib/html.js';

/**
 * @typedef {import('../lib/api.js').Resource} Resource
 */

/**
 * @param {{versions: Resource[], name: (v: Resource) => string, id: string,
 *   diff: (from: string, to: string) => any}} props versions newest first,
 *   at least two; id names the section's heading
 */
export function CompareVersions({ versions, name, id, diff }) {
    const ids = versions.map((v) => v.id);
    const [picked, setPicked] = useState({ from: ids[1], to: ids[0] });
    const [shown, setShown] = useState(/** @type {{from: string, to: string} | null} */ (null));
    // a version gone from the list (deleted, or paged away) is no choice
    const from = ids.includes(picked.from) ? picked.from : ids[1];
    const to = ids.includes(picked.to) ? picked.to : ids[0];
    /** @param {'from'|'to'} side @param {string} label @param {string} value */
    const select = (side, label, value) => html`<div class="field">
        <label for=${`${id}-${side}`}>${label}</label>
        <select id=${`${id}-${side}`} value=${value}
            onChange=${(/** @type {any} */ e) => setPicked({ from, to, [side]: e.currentTarget.value })}>
            ${versions.map((v) => html`<option value=${v.id}>${name(v)}</option>`)}
        </select>
    </div>`;
    return html`<section aria-labelledby=${id}>
        <h2 id=${id}>Compare two versions</h2>
        <form class="compare" onSubmit=${(/** @type {Event} */ e) => {
            e.preventDefault();
            setShown({ from, to });
        }}>
            ${select('from', 'From', from)}
            ${select('to', 'To', to)}
            <button type="submit">Compare</button>
        </form>
        ${shown && html`<div key=${`${shown.from}/${shown.to}`}>${diff(shown.from, shown.to)}</div>`}
    </section>`;
}
