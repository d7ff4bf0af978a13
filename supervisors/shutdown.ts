import type { ExitReason } from '../src/runtime/tree.js';
import type { Slot } from './children.js';

/**
 * How a supervisor stops its children: for good, one after another in reverse start order,
 * each within its own shutdown time; as the bystanders of a group restart; or all at once,
 * synchronously, when the supervisor itself is killed or a start fails halfway.
 */

const SHUTDOWN: ExitReason = { kind: 'shutdown' };

/** What the children of a stopping supervisor hear: `restart-limit` when it gives up past its intensity, else `shutdown`. */
export function reasonForChildren(reason: ExitReason): ExitReason {
  return reason.kind === 'restart-limit' ? reason : SHUTDOWN;
}

/** Stops each child for good, one after another in the order given, each within its shutdown time. */
export async function stopInTurn(slots: readonly Slot[], reason: ExitReason): Promise<void> {
  for (const slot of slots) await slot.node?.stop(slot.spec.shutdownMs, reason);
}

/** Stops the child for good within its shutdown time. */
export async function stopChild(slot: Slot, reason: ExitReason): Promise<void> {
  await slot.node?.stop(slot.spec.shutdownMs, reason);
}

/**
 * Stops a running bystander of a group restart within its shutdown time: an agent keeps its
 * address and mailbox for its next start; a nested supervisor ends without telling watchers;
 * a temporary child ends for good, as OTP does not restart it.
 */
export async function haltForRestart(slot: Slot, reason: ExitReason): Promise<void> {
  const { shutdownMs } = slot.spec;
  if (slot.node === undefined) return;
  if (slot.spec.restart === 'temporary') return slot.node.stop(shutdownMs, SHUTDOWN);
  if (slot.kind === 'agent') return slot.node.halt(shutdownMs, reason);
  return slot.node.stopForRestart(shutdownMs, SHUTDOWN);
}

/** Ends each child at once and synchronously, in the order given. */
export function killEach(slots: readonly Slot[], reason: ExitReason): void {
  for (const slot of slots) killChild(slot, reason);
}

/** Ends the child at once and synchronously: an agent stops `'brutal'`, a nested supervisor with its subtree. */
export function killChild(slot: Slot, reason: ExitReason): void {
  if (slot.node === undefined) return;
  if (slot.kind === 'supervisor') slot.node.kill(reason);
  else void slot.node.stop('brutal', reason);
}
