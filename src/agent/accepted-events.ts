import type { AnyStateNode } from 'xstate';

/**
 * How a machine configuration takes a message of some type, as far as its definition tells:
 * `sure` (the deepest active node with transitions for it takes it unguarded and does
 * something) or `guarded` (only evaluating guards tells: XState's `can()` decides).
 */
export type Handling = 'sure' | 'guarded';

/** Per event type (or `*`) with a transition in some active state node. */
export type Acceptance = ReadonlyMap<string, Handling>;

const NOTHING: Acceptance = new Map();
const leafCache = new WeakMap<AnyStateNode, Acceptance>();

// Every transition key counts, also a forbidden transition (`on: { request: undefined }`), which
// ownEvents leaves out: it still shadows the ancestors' transitions for its type.
function describe(nodes: readonly AnyStateNode[], chain: boolean): Acceptance {
  const acceptance = new Map<string, Handling>();
  for (const node of nodes) for (const type of node.transitions.keys()) acceptance.set(type, chain && surelyTaken(nodes, type) ? 'sure' : 'guarded');
  return acceptance;
}

type Transitions = NonNullable<ReturnType<AnyStateNode['transitions']['get']>>;

/**
 * In a chain of states XState looks for the type's candidates (exact transitions, then `*`
 * ones) from the deepest node up and takes the first whose guard passes: the deepest node
 * with candidates shadows its ancestors (unless all of its guards fail). A message is surely
 * taken only when that node's first unguarded candidate does something and no candidate
 * before it could be a no-op; everything else is left to `can()`.
 */
function surelyTaken(nodes: readonly AnyStateNode[], type: string): boolean {
  for (let i = nodes.length - 1; i >= 0; i--) {
    const node = nodes[i] as AnyStateNode;
    const exact = node.transitions.get(type);
    const wildcard = type === '*' ? undefined : node.transitions.get('*');
    if (exact === undefined && wildcard === undefined) continue;
    const decided = firstUnguarded(exact) ?? firstUnguarded(wildcard);
    return decided === true;
  }
  return false;
}

/** true: an unguarded candidate that does something comes first; false: a no-op could be taken; undefined: all guarded. */
function firstUnguarded(candidates: Transitions | undefined): boolean | undefined {
  if (candidates === undefined) return undefined;
  for (const transition of candidates) {
    if (transition.target === undefined && transition.actions.length === 0 && transition.reenter !== true) return false;
    if (transition.guard === undefined) return true;
  }
  return undefined;
}

/**
 * The acceptance of a machine configuration (its active state nodes). Cached per leaf when
 * the configuration is a single chain of states, the common case, so a message costs one lookup.
 */
export function acceptanceOf(nodes: readonly AnyStateNode[]): Acceptance {
  const leaf = nodes[nodes.length - 1];
  if (leaf === undefined) return NOTHING;
  // Parallel regions each pick a transition: there only can() tells, so every type is `guarded`.
  if (!isChain(nodes)) return describe(nodes, false);
  let acceptance = leafCache.get(leaf);
  if (acceptance === undefined) {
    acceptance = describe(nodes, true);
    leafCache.set(leaf, acceptance);
  }
  return acceptance;
}

function isChain(nodes: readonly AnyStateNode[]): boolean {
  for (let i = 1; i < nodes.length; i++) if ((nodes[i] as AnyStateNode).parent !== nodes[i - 1]) return false;
  return true;
}

/** How a message of `type` is taken, or undefined when nothing in the configuration takes it. */
export function handlingOf(acceptance: Acceptance, type: string): Handling | undefined {
  return acceptance.get(type) ?? acceptance.get('*');
}
