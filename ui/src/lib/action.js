// @ts-check
// A person's action (a save, a delete): whether it is under way and why
// it failed, for the page to show beside the control.
import { useState } from 'preact/hooks';

/**
 * @returns {{busy: boolean, error: any, run: (fn: () => Promise<any>) => Promise<boolean>,
 *   clear: () => void}} run resolves true when fn succeeded
 */
export function useAction() {
    const [state, setState] = useState({ busy: false, error: /** @type {any} */ (null) });
    return {
        ...state,
        async run(fn) {
            setState({ busy: true, error: null });
            try {
                await fn();
                setState({ busy: false, error: null });
                return true;
            } catch (error) {
                setState({ busy: false, error });
                return false;
            }
        },
        clear: () => setState({ busy: false, error: null }),
    };
}
