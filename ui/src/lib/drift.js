// @ts-check
// A workspace's drift status in words, as the list's badge and the
// overview's drift card show it.

/**
 * The drift badge of a workspace: null while drift detection is off and
 * nothing was ever checked.
 * @param {Record<string, any>} a workspace attributes
 * @returns {{status: string, label: string, tone: 'ok'|'bad'|'wait'|'done'} | null}
 */
export function driftOf(a) {
    const status = String(a['drift-status'] || '');
    if (!status && !a['drift-detection-enabled']) {
        return null;
    }
    switch (status) {
    case 'no_drift':
        return { status, label: 'No drift', tone: 'ok' };
    case 'drifted':
        return { status, label: 'Drifted', tone: 'bad' };
    case 'errored':
        return { status, label: 'Drift check failed', tone: 'wait' };
    default:
        return { status, label: 'Not checked yet', tone: 'done' };
    }
}

/**
 * What an assessment result says, in a line: "2 drifted, 5 not".
 * @param {Record<string, any>} r assessment result attributes
 * @returns {string}
 */
export function assessmentSummary(r) {
    if (r['drift-status'] === 'errored') {
        return r['error-msg'] ? `Failed: ${r['error-msg']}` : 'Failed';
    }
    if (r['resources-drifted'] === null || r['resources-drifted'] === undefined) {
        return r.drifted ? 'Changes found' : 'No changes';
    }
    return `${r['resources-drifted']} drifted, ${r['resources-undrifted'] ?? 0} not`;
}
