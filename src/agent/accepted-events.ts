import type { AnyStateNode } from 'xstate';

const ownCache = new WeakMap<AnyStateNode, ReadonlySet<string>>();
const leafCache = new WeakMap<AnyStateNode, ReadonlySet<string>>();

function ownEvents(node: AnyStateNode): ReadonlySet<string> {
  let events = ownCache.get(node);
  if (events === undefined) {
    events = new Set(node.ownEvents as string[]);
    ownCache.set(node, events);
  }
  return events;
}

function union(nodes: readonly AnyStateNode[]): ReadonlySet<string> {
  const events = new Set<string>();
  for (const node of nodes) for (const type of ownEvents(node)) events.add(type);
  return events;
}

/**
 * The event types a machine configuration has a transition for (in any active state node,
 * guards aside). Cached per leaf when the configuration is a single chain of states, which
 * is the common case, so a message costs one lookup.
 */
export function acceptedEvents(nodes: readonly AnyStateNode[]): ReadonlySet<string> {
  const leaf = nodes[nodes.length - 1];
  if (leaf === undefined) return new Set();
  if (!isChain(nodes)) return union(nodes);
  let events = leafCache.get(leaf);
  if (events === undefined) {
    events = union(nodes);
    leafCache.set(leaf, events);
  }
  return events;
}

function isChain(nodes: readonly AnyStateNode[]): boolean {
  for (let i = 1; i < nodes.length; i++) if ((nodes[i] as AnyStateNode).parent !== nodes[i - 1]) return false;
  return true;
}

export function accepts(events: ReadonlySet<string>, type: string): boolean {
  return events.has(type) || events.has('*');
}
