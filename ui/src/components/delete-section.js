// @ts-check
// The "Delete" section of an administration page: what deleting leaves
// behind, the button asked about first, then back to the list.
import { html } from '../lib/html.js';
import { api } from '../lib/session.js';
import { useAction } from '../lib/action.js';
import { navigate } from '../lib/nav.js';
import { ErrorNote } from './common.js';
import { ConfirmButton } from './confirm.js';

/**
 * @param {{noun: string, name: string, path: string, back: string, children?: any}} props
 *   path: the API resource to delete; back: the route path to go to then
 */
export function DeleteSection({ noun, name, path, back, children }) {
    const del = useAction();
    return html`<section aria-labelledby="delete-h">
        <h2 id="delete-h">Delete</h2>
        <p>${children}</p>
        <${ErrorNote} error=${del.error} />
        <${ConfirmButton} label=${`Delete ${noun}`} danger=${true} disabled=${del.busy}
            question=${`Delete the ${noun} ${name}?`} yes="Delete it"
            onConfirm=${async () => {
                if (await del.run(() => api.del(path))) {
                    navigate(back);
                }
            }} />
    </section>`;
}
