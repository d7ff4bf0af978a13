import { SupervisorSpecError } from './child-spec.js';

export interface Intensity {
  /** Most restarts allowed within `withinMs` (OTP intensity); default 1. */
  readonly maxRestarts: number;
  /** The sliding window in milliseconds (OTP period); default 5,000. */
  readonly withinMs: number;
}

export const DEFAULT_INTENSITY: Intensity = { maxRestarts: 1, withinMs: 5_000 };

export function resolveIntensity(intensity: Intensity | undefined): Intensity {
  if (intensity === undefined) return DEFAULT_INTENSITY;
  const { maxRestarts, withinMs } = intensity;
  if (!(Number.isInteger(maxRestarts) && maxRestarts >= 0)) throw new SupervisorSpecError('invalid-intensity', `intensity.maxRestarts must be a whole number ≥ 0, got ${String(maxRestarts)}`);
  if (!(Number.isInteger(withinMs) && withinMs >= 1)) throw new SupervisorSpecError('invalid-period', `intensity.withinMs must be a whole number ≥ 1, got ${String(withinMs)}`);
  return { maxRestarts, withinMs };
}

/**
 * OTP's restart intensity: a sliding window of restart times. More than `maxRestarts`
 * restarts within `withinMs` means the supervisor gives up and fails upward.
 */
export class RestartIntensity {
  private times: number[] = [];

  constructor(private readonly limit: Intensity) {}

  /** Records a restart at `now`; false when it goes past the limit. */
  allow(now: number): boolean {
    const since = now - this.limit.withinMs;
    this.times = this.times.filter((time) => time > since);
    this.times.push(now);
    return this.times.length <= this.limit.maxRestarts;
  }
}
