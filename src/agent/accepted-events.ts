import type { AnyStateNode } from 'xstate';

/** What a machine configuration does with each event type, as far as its definition tells. */
export interface Acceptance {
  /** Types with a transition in some active state node (guards aside); `*` stands for all. */
  readonly accepted: ReadonlySet<string>;
  /**
   * Accepted types whose every transition has a guard: a message of such a type may find no
   * transition enabled, which only evaluating the guards tells.
   */
  readonly guardedOnly: ReadonlySet<string>;
}

const NOTHING: Acceptance = { accepted: new Set(), guardedOnly: new Set() };
const leafCache = new WeakMap<AnyStateNode, Acceptance>();

function describe(nodes: readonly AnyStateNode[]): Acceptance {
  const accepted = new Set<string>();
  for (const node of nodes) for (const type of node.ownEvents as string[]) accepted.add(type);
  return { accepted, guardedOnly: new Set([...accepted].filter((type) => !surelyTaken(nodes, type))) };
}

/**
 * A message of `type` is sure to be taken when some active node has an unguarded transition
 * that does something for it. XState considers a node's exact transitions for a type, or its
 * `*` ones when it has none for the type.
 */
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

export function accepts(acceptance: Acceptance, type: string): boolean {
  return acceptance.accepted.has(type) || acceptance.accepted.has('*');
}

/** True when guards decide whether a message of `type` is taken at all. */
export function dependsOnGuards(acceptance: Acceptance, type: string): boolean {
  return acceptance.accepted.has(type) ? acceptance.guardedOnly.has(type) : acceptance.guardedOnly.has('*');
}
