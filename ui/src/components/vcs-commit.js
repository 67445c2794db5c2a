// @ts-check
// Where a run's configuration came from, when it came from a repository:
// its commit, branch or tag, and pull request, linked to the provider.
import { html } from '../lib/html.js';
import { isPullRequest, shortSha, firstLine } from '../lib/vcs.js';

/**
 * A link to the provider when it gave an address, the text alone if not.
 * @param {{url: any, children: any}} props
 */
function Out({ url, children }) {
    return typeof url === 'string' && /^https?:\/\//.test(url)
        ? html`<a href=${url} rel="noopener noreferrer" target="_blank">${children}</a>` : children;
}

/**
 * The badge of a run planned for a pull or merge request.
 * @param {{ing: import('../lib/vcs.js').Ingress | null}} props
 */
export function PullRequestBadge({ ing }) {
    if (!ing || !isPullRequest(ing)) {
        return null;
    }
    const n = ing['pull-request-number'];
    return html`<${Out} url=${ing['pull-request-url']}><span class="badge badge-busy" data-testid="pr-badge">
        ${n ? `PR #${n}` : 'PR'}</span><//>`;
}

/**
 * One line for lists: the short commit, its branch or tag, the PR badge.
 * @param {{ing: import('../lib/vcs.js').Ingress | null}} props
 */
export function CommitLine({ ing }) {
    if (!ing) {
        return html`<span class="muted">Uploaded</span>`;
    }
    const ref = ing.tag || ing.branch;
    return html`<span class="commit"><${Out} url=${ing['commit-url']}><code>${shortSha(ing['commit-sha'])}</code><//>
        ${ref && html` <span class="muted">${ref}</span>`} <${PullRequestBadge} ing=${ing} /></span>`;
}

/**
 * The whole story, for the run's page.
 * @param {{ing: import('../lib/vcs.js').Ingress}} props
 */
export function CommitFacts({ ing }) {
    const pr = isPullRequest(ing);
    return html`<section aria-labelledby="commit-title">
        <h3 id="commit-title">Source</h3>
        <dl class="facts">
            <dt>Commit</dt><dd><${Out} url=${ing['commit-url']}><code>${shortSha(ing['commit-sha'])}</code><//>
                ${ing['commit-message'] && html` ${firstLine(ing['commit-message'])}`}</dd>
            ${ing.branch && html`<dt>Branch</dt><dd>${ing.branch}</dd>`}
            ${ing.tag && html`<dt>Tag</dt><dd>${ing.tag}</dd>`}
            ${pr && html`<dt>Pull request</dt><dd><${PullRequestBadge} ing=${ing} />
                ${ing['pull-request-title'] && html` ${ing['pull-request-title']}`}</dd>`}
            ${ing['sender-username'] && html`<dt>By</dt><dd>${ing['sender-username']}</dd>`}
            ${ing['compare-url'] && html`<dt>Changes</dt><dd><${Out} url=${ing['compare-url']}>Compare<//></dd>`}
        </dl>
    </section>`;
}
