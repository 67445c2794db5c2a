// @ts-check
// Addresses of the pages other pages link to (route paths; see routes.js).

/** The organization every instance serves. */
export const ORG = 'default';
export const HOME = `/app/${ORG}/workspaces`;

/**
 * @param {string} name workspace name
 * @param {string} [tab] runs, variables, state, configurations or settings; the overview without
 */
export function workspacePath(name, tab) {
    const p = `/app/${ORG}/workspaces/${encodeURIComponent(name)}`;
    return tab ? `${p}/${tab}` : p;
}

/**
 * @param {string} name workspace name
 * @param {string} runId
 */
export function runPath(name, runId) {
    return `${workspacePath(name, 'runs')}/${encodeURIComponent(runId)}`;
}

/** @param {string} id agent pool id */
export function poolPath(id) {
    return `/app/admin/agent-pools/${encodeURIComponent(id)}`;
}

/** @param {string} id variable set id */
export function varsetPath(id) {
    return `/app/admin/variable-sets/${encodeURIComponent(id)}`;
}

/** @param {string} id VCS connection id */
export function vcsConnectionPath(id) {
    return `/app/admin/vcs-connections/${encodeURIComponent(id)}`;
}

/** @param {string} id autodiscovery rule id */
export function rulePath(id) {
    return `/app/admin/autodiscovery-rules/${encodeURIComponent(id)}`;
}

/**
 * @param {string} name registry module name
 * @param {string} provider its provider
 */
export function modulePath(name, provider) {
    return `/app/${ORG}/registry/modules/${encodeURIComponent(name)}/${encodeURIComponent(provider)}`;
}

/** The registry's provider list. */
export const PROVIDERS = `/app/${ORG}/registry/providers`;

/** The publishers' GPG keys. */
export const GPG_KEYS = `/app/${ORG}/registry/gpg-keys`;

/** @param {string} name registry provider name */
export function providerPath(name) {
    return `${PROVIDERS}/${encodeURIComponent(name)}`;
}
