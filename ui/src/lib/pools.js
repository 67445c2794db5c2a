// @ts-check
// Which workspaces run on an agent pool: those naming it, and for the pool
// named "default" also the agent-mode workspaces naming none.

/**
 * @template {{attributes?: Record<string, any>}} W
 * @param {{id: string, attributes?: Record<string, any>}} pool
 * @param {W[]} workspaces
 * @returns {W[]}
 */
export function assignedWorkspaces(pool, workspaces) {
    const isDefault = (pool.attributes || {}).name === 'default';
    return workspaces.filter((w) => {
        const a = w.attributes || {};
        const named = a['agent-pool-id'];
        return named === pool.id || (isDefault && !named && a['execution-mode'] === 'agent');
    });
}

/** Stream events that change what the pool's listeners show. */
export const LISTENER_EVENTS = new Set(['listener_heartbeat', 'listener_joined']);
