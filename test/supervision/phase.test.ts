/**
 * A supervisor's phase (supervisors/phase.ts): its transitions one by one, and what they forbid
 * in a running tree.
 */
import { describe, expect, it } from 'vitest';
import { SupervisorSpecError, supervisor, type ExitReason, type Strategy } from '../../src/index.js';
import type { TreeNode } from '../../src/runtime/tree.js';
import { SupervisorPhase } from '../../supervisors/phase.js';
import { op, settled, start, worker } from '../conformance/helpers.js';

const SHUTDOWN: ExitReason = { kind: 'shutdown' };
const LIMIT: ExitReason = { kind: 'restart-limit', detail: 'too many' };

function running(): SupervisorPhase {
  const phase = new SupervisorPhase();
  phase.started();
  return phase;
}

describe('SupervisorPhase', () => {
  it('starts in starting, seen as running, and runs once every child started', () => {
    const phase = new SupervisorPhase();
    expect(phase.current).toEqual({ kind: 'starting' });
    expect(phase.status).toBe('running');
    expect(phase.isRunning).toBe(false);
    phase.started();
    expect(phase.current).toEqual({ kind: 'running' });
    expect(phase.isRunning).toBe(true);
  });

  it('a failed start ends stopped, the watchers left to the parent', () => {
    const phase = new SupervisorPhase();
    phase.startFailed();
    expect(phase.current).toEqual({ kind: 'stopped', end: 'parent-decides' });
    expect(phase.status).toBe('stopped');
  });

  it('giving up is stopping, then stopped with the parent to decide; a later stop for good tells the watchers once', () => {
    const phase = running();
    expect(phase.giveUp(LIMIT)).toBe(true);
    expect(phase.current).toEqual({ kind: 'giving-up', exit: LIMIT });
    expect(phase.status).toBe('stopping');
    expect(phase.finished(false)).toBe(false);
    expect(phase.current).toEqual({ kind: 'stopped', end: 'parent-decides' });
    expect(phase.goneForGood()).toBe(true);
    expect(phase.goneForGood()).toBe(false);
    expect(phase.current).toEqual({ kind: 'stopped', end: 'for-good' });
  });

  it('the latest stop request decides how a stop ends', () => {
    const phase = running();
    phase.stopRequested(false);
    expect(phase.endsForGood(true)).toBe(false);
    phase.stopRequested(true);
    expect(phase.current).toEqual({ kind: 'stopping', forGood: true });
    expect(phase.finished(true)).toBe(true);
    expect(phase.current).toEqual({ kind: 'stopped', end: 'for-good' });
    // once stopped, each caller's own word counts
    expect(phase.endsForGood(false)).toBe(false);
    expect(phase.goneForGood()).toBe(false);
  });

  it('a stop asked for while giving up stays asked for; the give-up goes on', () => {
    const phase = running();
    phase.giveUp(SHUTDOWN);
    phase.stopRequested(true);
    expect(phase.giveUp(SHUTDOWN)).toBe(true);
    expect(phase.current).toEqual({ kind: 'stopping', forGood: true });
  });

  it('a stopped supervisor neither gives up, nor stops again, nor runs', () => {
    const phase = running();
    phase.stopRequested(true);
    phase.finished(true);
    expect(phase.giveUp(SHUTDOWN)).toBe(false);
    phase.stopRequested(false);
    phase.started();
    expect(phase.finished(false)).toBe(false);
    expect(phase.current).toEqual({ kind: 'stopped', end: 'for-good' });
  });
});

describe('phases in a running tree', () => {
  it('a supervisor killed while it retires a significant child does not shut down a second time', async () => {
    const job = worker('job');
    const { system, log } = await start(
      supervisor({
        children: [{ id: 'inner', agent: supervisor({ autoShutdown: 'any-significant', children: [{ id: 'job', agent: job, restart: 'transient', significant: true }] }) }],
      }),
    );
    const runtime = (system as unknown as { runtime: { lookup(path: string): TreeNode | undefined } }).runtime;
    // The job's retirement tells its watchers; this one kills /inner right then, before /inner sees to its auto shutdown.
    system.watch('/inner/job', () => void runtime.lookup('/inner')?.stop('brutal', SHUTDOWN));
    await system.request('/inner/job', op('stop'));
    await log.wait({ type: 'stopped', path: '/inner' });
    // every microtask of /inner's handling of the exit has run by the next turn of the event loop
    await new Promise((resolve) => setImmediate(resolve));
    await settled(system);
    expect(log.of('stopped', '/inner')).toHaveLength(1);
    expect(log.of('restarted', '/inner')).toEqual([]);
  });
});

describe('options', () => {
  it('a strategy named after an Object.prototype member is refused', () => {
    for (const strategy of ['toString', 'constructor', '__proto__', 'hasOwnProperty']) {
      let caught: unknown;
      try {
        supervisor({ strategy: strategy as Strategy });
      } catch (error) {
        caught = error;
      }
      expect(caught, strategy).toBeInstanceOf(SupervisorSpecError);
      expect((caught as SupervisorSpecError).code).toBe('invalid-strategy');
    }
  });
});
