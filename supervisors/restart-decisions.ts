import { describeExit, isNormalExit, type ExitReason } from '../src/runtime/tree.js';
import { backoffDelay, type Backoff } from './backoff.js';
import type { ResolvedChildSpec } from './child-spec.js';
import type { Slot } from './children.js';
import { RestartIntensity, type Intensity } from './restart-intensity.js';
import { oneForAll } from './strategies/one-for-all.js';
import { oneForOne } from './strategies/one-for-one.js';
import { restForOne } from './strategies/rest-for-one.js';

export type Strategy = 'one-for-one' | 'one-for-all' | 'rest-for-one';

const STRATEGIES: Readonly<Record<Strategy, <T>(children: readonly T[], failed: T) => T[]>> = {
  'one-for-one': oneForOne,
  'one-for-all': oneForAll,
  'rest-for-one': restForOne,
};

export function isStrategy(value: unknown): value is Strategy {
  return typeof value === 'string' && Object.hasOwn(STRATEGIES, value);
}

/** OTP's restart types: permanent always, transient after an abnormal exit, temporary never. */
export function shouldRestart(spec: ResolvedChildSpec, reason: ExitReason): boolean {
  switch (spec.restart) {
    case 'permanent':
      return true;
    case 'transient':
      return !isNormalExit(reason);
    default:
      return false;
  }
}

/** What a supervisor does when a child is due for a restart. */
export type RestartDecision = { readonly kind: 'restart' } | { readonly kind: 'give-up'; readonly detail: string };

/** What a supervisor does about a running child's exit. */
export type ExitDecision = { readonly kind: 'retire' } | RestartDecision;

const RESTART: RestartDecision = { kind: 'restart' };
const RETIRE: ExitDecision = { kind: 'retire' };

/**
 * A supervisor's restart decisions: whether an exit is restarted (restart type × exit reason),
 * whether the restart intensity allows it, which children restart together (the strategy), and
 * how long the group waits first (backoff).
 */
export class RestartDecisions {
  private readonly intensity: RestartIntensity;

  constructor(
    private readonly strategy: Strategy,
    private readonly limit: Intensity,
    private readonly backoff: Required<Backoff> | undefined,
  ) {
    this.intensity = new RestartIntensity(limit);
  }

  /** A running child exited: retire it, restart it, or give up. Only an exit to restart counts against the intensity. */
  onExit(slot: Slot, reason: ExitReason, now: number): ExitDecision {
    return shouldRestart(slot.spec, reason) ? this.restartOrGiveUp(slot, reason, now) : RETIRE;
  }

  /** A restart is due (an exit to restart, or a group member that failed to start): counted against the intensity. */
  restartOrGiveUp(slot: Slot, reason: ExitReason, now: number): RestartDecision {
    if (this.intensity.allow(now)) return RESTART;
    const { maxRestarts, withinMs } = this.limit;
    return { kind: 'give-up', detail: `more than ${maxRestarts} restart${maxRestarts === 1 ? '' : 's'} within ${withinMs} ms (last: ${slot.spec.id}, ${describeExit(reason)})` };
  }

  /** The children that restart with `failed`, in start order. */
  groupOf(children: readonly Slot[], failed: Slot): Slot[] {
    return STRATEGIES[this.strategy](children, failed);
  }

  /** The backoff before restart number `attempt` of this child in a row (0 without backoff); counts that restart in the series. */
  delayBefore(slot: Slot, now: number): number {
    const backoff = this.backoff;
    if (backoff === undefined) return 0;
    if (now - slot.startedAt > backoff.resetAfterMs) slot.attempt = 0;
    return backoffDelay(backoff, slot.attempt++);
  }
}
