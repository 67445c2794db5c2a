// @ts-check
// Labelled resources (agent pools, registry providers): a page of them,
// each one's name linking to its page, a count, its labels and
// description, then the pager ("No NOUN yet." for none); and the form
// that creates one from a name, a description and labels.
import { useState } from 'preact/hooks';
import { html } from '../lib/html.js';
import { useAction } from '../lib/action.js';
import { parseLabels, inputValue } from '../lib/forms.js';
import { labelList } from '../lib/format.js';
import { navigate } from '../lib/nav.js';
import { Link, Pager, ErrorNote } from './common.js';

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

/**
 * @param {{summary: string, button: string, namePattern?: string,
 *   create: (a: {name: string, description: string, labels: Record<string, string>}) => Promise<any>,
 *   created: () => void}} props
 */
export function NewLabelled({ summary, button, namePattern, create, created }) {
    const [name, setName] = useState('');
    const [description, setDescription] = useState('');
    const [labels, setLabels] = useState('');
    const act = useAction();

    const submit = async (/** @type {Event} */ e) => {
        e.preventDefault();
        if (await act.run(() => create({ name, description, labels: parseLabels(labels) }))) {
            setName('');
            setDescription('');
            setLabels('');
            created();
        }
    };
    return html`<details class="panel">
        <summary>${summary}</summary>
        <form class="stack" onSubmit=${submit}>
            <label>Name <input required value=${name} pattern=${namePattern}
                onInput=${(/** @type {Event} */ e) => setName(inputValue(e))} /></label>
            <label>Description <input value=${description}
                onInput=${(/** @type {Event} */ e) => setDescription(inputValue(e))} /></label>
            <label>Labels <input value=${labels} placeholder="key=value, key=value"
                onInput=${(/** @type {Event} */ e) => setLabels(inputValue(e))} /></label>
            <${ErrorNote} error=${act.error} />
            <p><button class="primary" type="submit" disabled=${act.busy}>${button}</button></p>
        </form>
    </details>`;
}
