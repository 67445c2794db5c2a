// @ts-check
// A page of labelled resources (agent pools, registry providers): each
// one's name linking to its page, a count, its labels and description,
// then the pager; "No NOUN yet." for none.
import { html } from '../lib/html.js';
import { labelList } from '../lib/format.js';
import { navigate } from '../lib/nav.js';
import { Link, Pager } from './common.js';

/**
 * @param {{page: {data: any[], pagination: any}, noun: string,
 *   count: {title: string, attribute: string}, linkOf: (r: any) => string,
 *   pageUrl: (n: number) => string}} props
 */
export function LabelledList({ page, noun, count, linkOf, pageUrl }) {
    return html`${page.data.length === 0 ? html`<p>No ${noun} yet.</p>`
        : html`<div class="table-wrap"><table class="list">
            <thead><tr>
                <th scope="col">Name</th><th scope="col">${count.title}</th>
                <th scope="col">Labels</th><th scope="col">Description</th>
            </tr></thead>
            <tbody>${page.data.map((r) => { const a = r.attributes || {}; return html`<tr key=${r.id}>
                <th scope="row"><${Link} to=${linkOf(r)}>${a.name}<//></th>
                <td>${a[count.attribute]}</td>
                <td>${labelList(a.labels).map((l) => html`<span class="label">${l}</span> `)}</td>
                <td>${a.description}</td>
            </tr>`; })}</tbody>
        </table></div>`}
        <${Pager} pagination=${page.pagination} noun=${noun}
            go=${(/** @type {number} */ n) => navigate(pageUrl(n), { replace: true })} />`;
}
