import type { AnyStateNode } from 'xstate';

/**
 * How a machine configuration takes a message of some type, as far as its definition tells:
 * `sure` (some active node has an unguarded transition that does something for it) or
 * `guarded` (every transition for it has a guard, so only evaluating them tells).
 */
export type Handling = 'sure' | 'guarded';

/** Per event type (or `*`) with a transition in some active state node. */
export type Acceptance = ReadonlyMap<string, Handling>;

const NOTHING: Acceptance = new Map();
const leafCache = new WeakMap<AnyStateNode, Acceptance>();

function describe(nodes: readonly AnyStateNode[]): Acceptance {
  const acceptance = new Map<string, Handling>();
  for (const node of nodes) for (const type of node.ownEvents as string[]) acceptance.set(type, surelyTaken(nodes, type) ? 'sure' : 'guarded');
  return acceptance;
}

/** XState considers a node's exact transitions for a type, or its `*` ones when it has none for the type. */
function surelyTaken(nodes: readonly AnyStateNode[], type: string): boolean {
  return nodes.some((node) =>
    (node.transitions.get(type) ?? node.transitions.get('*') ?? []).some(
      (transition) => transition.guard === undefined && (transition.target !== undefined || transition.actions.length > 0 || transition.reenter === true),
    ),
  );
}

/**
 * The acceptance of a machine configuration (its active state nodes). Cached per leaf when
 * the configuration is a single chain of states, the common case, so a message costs one lookup.
 */
export function acceptanceOf(nodes: readonly AnyStateNode[]): Acceptance {
  const leaf = nodes[nodes.length - 1];
  if (leaf === undefined) return NOTHING;
  if (!isChain(nodes)) return describe(nodes);
  let acceptance = leafCache.get(leaf);
  if (acceptance === undefined) {
    acceptance = describe(nodes);
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
