// @ts-check
// What the workspace's tabs share beyond the shell: reading their lists
// again when the workspace's event stream says they changed (or every few
// seconds when there is no stream).
import { useEffect, useRef } from 'preact/hooks';
import { useInterval } from '../lib/hooks.js';
import './workspace-tabs.css';

/**
 * @param {import('./workspace-shell.js').ShellContext} ctx
 * @param {string[]} events the event types that change what the tab shows
 * @param {() => any} reload
 */
export function useReloadOn(ctx, events, reload) {
    const fn = useRef(reload);
    fn.current = reload;
    const key = events.join(',');

    useEffect(() => ctx.listen((e) => {
        if (events.includes(e.event)) {
            fn.current();
        }
    }), [key]);
    useInterval(() => fn.current(), 5000, ctx.live === 'unavailable');
}
