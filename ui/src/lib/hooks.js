// @ts-check
// Hooks the pages share: loading what the API answers, and following a
// live event stream.
import { useEffect, useRef, useState, useCallback } from 'preact/hooks';
import { follow } from './events.js';

/**
 * Loads with an async function whenever deps change; reload() loads
 * again keeping what is shown until the answer comes (live updates).
 * @template T
 * @param {() => Promise<T>} load
 * @param {any[]} deps
 * @returns {{data: T|undefined, error: any, loading: boolean, reload: () => Promise<void>}}
 */
export function useLoad(load, deps) {
    const [state, setState] = useState(/** @type {{data: T|undefined, error: any, loading: boolean}} */
        ({ data: undefined, error: null, loading: true }));
    const seq = useRef(0);

    const run = useCallback(async (/** @type {boolean} */ fresh) => {
        const mine = ++seq.current;
        if (fresh) {
            setState({ data: undefined, error: null, loading: true });
        }
        try {
            const data = await load();
            if (mine === seq.current) {
                setState({ data, error: null, loading: false });
            }
        } catch (error) {
            if (mine === seq.current) {
                setState((s) => ({ data: fresh ? undefined : s.data, error, loading: false }));
            }
        }
    }, deps);

    useEffect(() => {
        run(true);
    }, [run]);
    return { ...state, reload: () => run(false) };
}

/**
 * Follows an event stream while the component is shown (url null: none).
 * The handler may change between renders; the stream stays open.
 * @param {string|null} url
 * @param {(e: import('./events.js').StreamEvent) => void} onEvent
 * @returns {import('./events.js').StreamState}
 */
export function useLive(url, onEvent) {
    const handler = useRef(onEvent);
    const [state, setState] = useState(/** @type {import('./events.js').StreamState} */ ('connecting'));
    handler.current = onEvent;

    useEffect(() => {
        if (!url) {
            return undefined;
        }
        return follow(url, {
            onEvent: (e) => handler.current(e),
            onState: setState,
        }, {
            fetch: (i, init) => window.fetch(i, init),
            setTimeout: (fn, ms) => window.setTimeout(fn, ms),
            clearTimeout: (t) => window.clearTimeout(t),
        });
    }, [url]);
    return state;
}

/**
 * Calls fn every ms while active is true.
 * @param {() => void} fn
 * @param {number} ms
 * @param {boolean} active
 */
export function useInterval(fn, ms, active) {
    const saved = useRef(fn);
    saved.current = fn;
    useEffect(() => {
        if (!active) {
            return undefined;
        }
        const t = window.setInterval(() => saved.current(), ms);
        return () => window.clearInterval(t);
    }, [ms, active]);
}
