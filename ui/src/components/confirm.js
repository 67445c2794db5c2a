// @ts-check
// A button whose action is asked about first, in the page: the question
// and a "yes" and a "cancel" button take its place, the "yes" focused.
import { useEffect, useRef, useState } from 'preact/hooks';
import { html } from '../lib/html.js';

/**
 * @param {{label: string, question: string, yes: string, onConfirm: () => any,
 *   disabled?: boolean, danger?: boolean}} props
 */
export function ConfirmButton({ label, question, yes, onConfirm, disabled, danger }) {
    const [asking, setAsking] = useState(false);
    const yesRef = useRef(/** @type {HTMLButtonElement|null} */ (null));

    useEffect(() => {
        if (asking && yesRef.current) {
            yesRef.current.focus();
        }
    }, [asking]);
    if (!asking) {
        return html`<button type="button" class=${danger ? 'danger' : ''} disabled=${disabled}
            onClick=${() => setAsking(true)}>${label}</button>`;
    }
    return html`<span class="confirm" role="group" aria-label=${question}>
        <span>${question}</span>
        <button type="button" class=${danger ? 'danger' : 'primary'} ref=${yesRef} disabled=${disabled}
            onClick=${async () => {
                try {
                    await onConfirm();
                } finally {
                    setAsking(false);
                }
            }}>${yes}</button>
        <button type="button" onClick=${() => setAsking(false)}>Cancel</button>
    </span>`;
}
