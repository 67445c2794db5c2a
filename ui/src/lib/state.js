// @ts-check
// A state file as the state tab shows it in a diff: what terraform marks
// sensitive (outputs, and the attribute paths each resource instance
// lists) is replaced before it reaches the screen. The person may
// download the file itself; the page still does not display secrets.

export const HIDDEN = '(sensitive value)';

/**
 * One step of a sensitive path as a key: get_attr names a member, index
 * holds a typed value ({"value": 0, "type": "number"}).
 * @param {any} step
 * @returns {string|number|undefined}
 */
function stepKey(step) {
    if (!step || typeof step !== 'object') return undefined;
    if (step.type === 'get_attr') return step.value;
    if (step.type === 'index') return step.value && typeof step.value === 'object' ? step.value.value : step.value;
    return undefined;
}

/**
 * Replaces the value at a path of steps. A dynamic value is stored as
 * {"value": …, "type": …}: a step the wrapper lacks goes through it.
 * @param {any} node
 * @param {any[]} path
 */
function hideAt(node, path) {
    for (let i = 0; i < path.length; i++) {
        const key = stepKey(path[i]);
        if (key === undefined || !node || typeof node !== 'object') return;
        if (!(key in node) && 'value' in node && 'type' in node) {
            node = node.value;
            if (!node || typeof node !== 'object') return;
        }
        if (!(key in node)) return;
        if (i === path.length - 1) {
            node[key] = HIDDEN;
        } else {
            node = node[key];
        }
    }
}

/**
 * A copy of a state with its sensitive values replaced.
 * @param {any} state
 * @returns {any}
 */
export function redactState(state) {
    const s = structuredClone(state);
    for (const out of Object.values((s && s.outputs) || {})) {
        if (out && out.sensitive) out.value = HIDDEN;
    }
    for (const res of (s && s.resources) || []) {
        for (const inst of (res && res.instances) || []) {
            for (const path of inst.sensitive_attributes || []) {
                if (Array.isArray(path)) hideAt(inst.attributes, path);
            }
        }
    }
    return s;
}

/**
 * The lines a diff of two states compares: redacted, two-space indented.
 * @param {any} state
 * @returns {string[]}
 */
export function stateLines(state) {
    return JSON.stringify(redactState(state), null, 2).split('\n');
}
