import type { AgentNode, Heartbeat } from '../src/runtime/tree.js';

export type { Heartbeat };

/**
 * Reaches one agent every `everyMs` and declares it hung when it has made no progress for
 * `timeoutMs` while it had work. For an inline agent liveness is read off its mailbox and
 * its `busy`-tagged states (a CPU loop on the main thread would stop the timer too, which is
 * why CPU-bound agents belong on workers). For an agent on a worker thread it is a real ping
 * across the thread. The timer does not keep the process alive.
 */
export class HeartbeatMonitor {
  private readonly timer: ReturnType<typeof setInterval>;

  constructor(cell: AgentNode, heartbeat: Heartbeat) {
    this.timer = setInterval(() => {
      const hung = cell.checkLiveness(Date.now(), heartbeat.timeoutMs);
      if (hung !== undefined) cell.hang(hung);
    }, heartbeat.everyMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
