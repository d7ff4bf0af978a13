import type { Clock, TimerHandle } from '../src/runtime/clock.js';
import type { AgentNode, Heartbeat } from '../src/runtime/tree.js';

export type { Heartbeat };

/**
 * Reaches one agent every `everyMs` and declares it hung when it has made no progress for
 * `timeoutMs` while it had work. For an inline agent liveness is read off its mailbox and
 * its `busy`-tagged states (a CPU loop on the main thread would stop the timer too, which is
 * why CPU-bound agents belong on workers). For an agent on a worker thread it is a real ping
 * across the thread. It runs on the system's clock; a real timer does not keep the process alive.
 */
export class HeartbeatMonitor {
  private timer: TimerHandle | undefined;
  private stopped = false;

  constructor(
    private readonly cell: AgentNode,
    private readonly heartbeat: Heartbeat,
    private readonly clock: Clock,
  ) {
    this.arm();
  }

  private arm(): void {
    this.timer = this.clock.setTimeout(() => this.beat(), this.heartbeat.everyMs);
    (this.timer as { unref?: () => void }).unref?.();
  }

  private beat(): void {
    if (this.stopped) return;
    const hung = this.cell.checkLiveness(this.clock.now(), this.heartbeat.timeoutMs);
    if (hung !== undefined) this.cell.hang(hung);
    if (!this.stopped) this.arm();
  }

  stop(): void {
    this.stopped = true;
    this.clock.clearTimeout(this.timer);
  }
}
