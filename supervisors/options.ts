import type { ChildSpec } from '../src/runtime/tree.js';
import { resolveBackoff, type Backoff } from './backoff.js';
import { resolveChildSpec, resolveChildSpecs, SupervisorSpecError, type ResolvedChildSpec } from './child-spec.js';
import { isStrategy, type Strategy } from './restart-decisions.js';
import { resolveIntensity, type Intensity } from './restart-intensity.js';

export type { Strategy };
export type AutoShutdown = 'never' | 'any-significant' | 'all-significant';

export interface SupervisorOptions {
  /** Default `one-for-one`. */
  readonly strategy?: Strategy;
  /** Default `{ maxRestarts: 1, withinMs: 5_000 }`, as OTP. */
  readonly intensity?: Intensity;
  /** Optional delay before restarts, growing with consecutive restarts of a child. */
  readonly backoff?: Backoff;
  /** Default `never`. */
  readonly autoShutdown?: AutoShutdown;
  readonly children?: readonly ChildSpec[];
  /**
   * A spec for children started on demand (OTP's simple_one_for_one pools):
   * `system.startChild(path, { id, input })` starts one from it.
   */
  readonly template?: Omit<ChildSpec, 'id'>;
}

/** The options checked, with OTP's defaults filled in. */
export interface ResolvedOptions {
  readonly strategy: Strategy;
  readonly intensity: Intensity;
  readonly backoff: Required<Backoff> | undefined;
  readonly autoShutdown: AutoShutdown;
  readonly children: readonly ResolvedChildSpec[];
  readonly template: Omit<ChildSpec, 'id'> | undefined;
}

const AUTO_SHUTDOWN: ReadonlySet<string> = new Set(['never', 'any-significant', 'all-significant']);

function checkTemplate(template: Omit<ChildSpec, 'id'>): Omit<ChildSpec, 'id'> {
  resolveChildSpec({ ...template, id: 'template' });
  return template;
}

/** Checks a supervisor's options; a bad one throws SupervisorSpecError. */
export function resolveOptions(options: SupervisorOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) throw new SupervisorSpecError('invalid-supervisor', 'supervisor() needs an options object');
  const strategy = options.strategy ?? 'one-for-one';
  if (!isStrategy(strategy)) throw new SupervisorSpecError('invalid-strategy', `strategy must be one-for-one, one-for-all or rest-for-one, got ${String(strategy)}`);
  const autoShutdown = options.autoShutdown ?? 'never';
  if (!AUTO_SHUTDOWN.has(autoShutdown)) throw new SupervisorSpecError('invalid-auto-shutdown', `autoShutdown must be never, any-significant or all-significant, got ${String(autoShutdown)}`);
  return {
    strategy,
    intensity: resolveIntensity(options.intensity),
    backoff: resolveBackoff(options.backoff),
    autoShutdown,
    children: resolveChildSpecs(options.children ?? []),
    template: options.template === undefined ? undefined : checkTemplate(options.template),
  };
}
