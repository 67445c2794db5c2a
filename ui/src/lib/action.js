// @ts-check
// A button's request: busy while it runs, its error shown where it was
// made, then whatever the page reads again.
import { useState } from 'preact/hooks';

/**
 * @returns {{busy: boolean, error: any, clear: () => void,
 *   run: (fn: () => Promise<any>) => Promise<boolean>}} run answers whether fn succeeded
 */
export function useAction() {
    const [busy, setBusy] = useState(false);
    const [error, setError] = useState(/** @type {any} */ (null));

    async function run(/** @type {() => Promise<any>} */ fn) {
        setBusy(true);
        setError(null);
        try {
            await fn();
            return true;
        } catch (e) {
            setError(e);
            return false;
        } finally {
            setBusy(false);
        }
    }
    return { busy, error, clear: () => setError(null), run };
}

/**
 * Asks before an action that cannot be undone.
 * @param {string} question
 * @returns {boolean}
 */
export function confirmed(question) {
    return window.confirm(question);
}
