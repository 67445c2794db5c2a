// @ts-check
// Users: found by part of their email, page by page; platform admins
// create local users, deactivate and reactivate them (which stops or
// restores every token and session of theirs), revoke all their tokens
// at once (offboarding) and delete them.
import { useEffect, useState } from 'preact/hooks';
import { html } from '../lib/html.js';
import { api } from '../lib/session.js';
import { withQuery } from '../lib/api.js';
import { useLoad } from '../lib/hooks.js';
import { useAction, confirmed } from '../lib/action.js';
import { isAdmin } from '../lib/account.js';
import { inputValue } from '../lib/forms.js';
import { when } from '../lib/format.js';
import { navigate } from '../lib/nav.js';
import { ErrorNote, Loading, Pager } from '../components/common.js';

/** @typedef {import('../lib/api.js').Resource} Resource */

const USERS = '/api/terrapod/v1/users';

/** @param {{query: URLSearchParams, account: any}} props */
export function UsersPage({ query, account }) {
    const search = query.get('email') || '';
    const page = Number(query.get('page')) || 1;
    const [text, setText] = useState(search);
    const { data, error, reload } = useLoad(
        () => api.list(USERS, page, 20, { 'filter[email]': search }), [search, page]);
    const admin = isAdmin(account);
    const me = account && account.attributes ? account.attributes.email : '';
    const act = useAction();
    const [done, setDone] = useState('');

    /** @param {string} s @param {number} p */
    const go = (s, p) => navigate(withQuery('/app/admin/users', { email: s, page: p > 1 ? p : '' }),
                                  { replace: true });
    useEffect(() => {
        if (text === search) {
            return undefined;
        }
        const t = setTimeout(() => go(text, 1), 300);
        return () => clearTimeout(t);
    }, [text]);

    /** @param {Resource} u @param {boolean} active */
    const setActive = async (u, active) => {
        const email = u.attributes && u.attributes.email;
        if (!active && !confirmed(`Deactivate ${email}? Their sessions end and their tokens stop working.`)) {
            return;
        }
        await act.run(() => api.patch(`${USERS}/${encodeURIComponent(email)}`,
            { data: { type: 'users', attributes: { 'is-active': active } } }));
        reload();
    };
    /** @param {Resource} u */
    const revokeTokens = async (u) => {
        const email = u.attributes && u.attributes.email;
        if (confirmed(`Revoke every API token of ${email}?`)) {
            await act.run(async () => {
                const doc = await api.post('/api/terrapod/v1/admin/authentication-tokens/actions/revoke-all', { email });
                setDone(`${doc.data.revoked} token(s) of ${email} revoked.`);
            });
        }
    };
    /** @param {Resource} u */
    const remove = async (u) => {
        const email = u.attributes && u.attributes.email;
        if (confirmed(`Delete ${email}, their tokens and their role assignments?`)) {
            await act.run(() => api.del(`${USERS}/${encodeURIComponent(email)}`));
            reload();
        }
    };
    return html`<section>
        <header class="page-head"><h1>Users</h1></header>
        ${admin && html`<${NewUser} created=${reload} />`}
        <form class="filters" role="search" onSubmit=${(/** @type {Event} */ e) => { e.preventDefault(); go(text, 1); }}>
            <label>Email contains <input type="search" value=${text}
                onInput=${(/** @type {Event} */ e) => setText(inputValue(e))} /></label>
            <button type="submit">Search</button>
        </form>
        <${ErrorNote} error=${error || act.error} />
        ${done && html`<p role="status">${done}</p>`}
        ${!data && !error && html`<${Loading} />`}
        ${data && html`${data.data.length === 0 ? html`<p>No users match.</p>`
            : html`<div class="table-wrap"><table class="list">
                <thead><tr>
                    <th scope="col">Email</th><th scope="col">Name</th><th scope="col">State</th>
                    <th scope="col">Last sign-in</th><th scope="col">Created</th>
                    ${admin && html`<th scope="col"><span class="visually-hidden">Actions</span></th>`}
                </tr></thead>
                <tbody>${data.data.map((u) => {
                    const a = u.attributes || {};
                    return html`<tr key=${u.id} data-user=${a.email}>
                        <th scope="row">${a.email}</th>
                        <td>${a['display-name']}</td>
                        <td>${a['is-active'] ? html`<span class="badge badge-ok">active</span>`
                            : html`<span class="badge badge-bad">deactivated</span>`}</td>
                        <td>${when(a['last-login-at']) || html`<span class="muted">never</span>`}</td>
                        <td>${when(a['created-at'])}</td>
                        ${admin && html`<td class="actions">${a.email !== me && html`
                            ${a['is-active']
                                ? html`<button class="danger" type="button" disabled=${act.busy}
                                    aria-label=${`Deactivate ${a.email}`} onClick=${() => setActive(u, false)}>Deactivate</button>`
                                : html`<button type="button" disabled=${act.busy}
                                    aria-label=${`Reactivate ${a.email}`} onClick=${() => setActive(u, true)}>Reactivate</button>`}
                            <button class="danger" type="button" disabled=${act.busy}
                                aria-label=${`Revoke tokens of ${a.email}`} onClick=${() => revokeTokens(u)}>Revoke tokens</button>
                            <button class="danger" type="button" disabled=${act.busy}
                                aria-label=${`Delete ${a.email}`} onClick=${() => remove(u)}>Delete</button>`}</td>`}
                    </tr>`;
                })}</tbody>
            </table></div>`}
            <${Pager} pagination=${data.pagination} noun="users" go=${(/** @type {number} */ p) => go(search, p)} />`}
    </section>`;
}

/** @param {{created: () => void}} props */
function NewUser({ created }) {
    const [email, setEmail] = useState('');
    const [name, setName] = useState('');
    const [password, setPassword] = useState('');
    const act = useAction();

    const submit = async (/** @type {Event} */ e) => {
        e.preventDefault();
        if (await act.run(() => api.post(USERS, { data: { type: 'users', attributes: {
            email, 'display-name': name, password } } }))) {
            setEmail('');
            setName('');
            setPassword('');
            created();
        }
    };
    return html`<details class="panel">
        <summary>New user</summary>
        <form class="stack" onSubmit=${submit}>
            <label>Email <input type="email" required value=${email}
                onInput=${(/** @type {Event} */ e) => setEmail(inputValue(e))} /></label>
            <label>Display name <input value=${name} onInput=${(/** @type {Event} */ e) => setName(inputValue(e))} /></label>
            <label>Password (12 characters or more, two kinds of characters)
                <input type="password" required autocomplete="new-password" value=${password}
                    onInput=${(/** @type {Event} */ e) => setPassword(inputValue(e))} /></label>
            <${ErrorNote} error=${act.error} />
            <p><button class="primary" type="submit" disabled=${act.busy}>Create user</button></p>
        </form>
    </details>`;
}
