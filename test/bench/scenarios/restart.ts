/**
 * restart: latency from a crash to the restarted agent answering the next message, in
 * milliseconds (median of `size` crash/ask cycles per sample). Each cycle sends a message
 * that makes the agent throw, then at once a request, and times until its answer arrives:
 * the crash, the supervisor's decision, the new incarnation and the answer are all in it.
 *
 * Troupe: a permanent child of a one-for-one supervisor (intensity raised so it never gives
 * up). nact: `onCrash` returning `ctx.reset`. XState has no supervision or restart.
 */
import { dispatch, query, spawn, type Ref, type SupervisionContext } from 'nact';
import { setup } from 'xstate';
import { defineAgent, reply, type AclMessage } from '../../../src/index.js';
import { median, now } from '../measure.js';
import type { Bench, Sample, Scenario } from '../scenario.js';
import { nactSystem, stopNact, troupeSystem } from '../support.js';

/** Times `cycles` runs of `cycle` and returns the median in ms. */
async function medianLatency(cycles: number, cycle: () => Promise<void>): Promise<number> {
  const latencies: number[] = [];
  for (let i = 0; i < cycles; i++) {
    const started = now();
    await cycle();
    latencies.push(now() - started);
  }
  return median(latencies);
}

// ---- Troupe ----

const troupeCrashy = defineAgent({
  name: 'crashy',
  machine: setup({ types: { events: {} as AclMessage } }).createMachine({
    on: {
      inform: {
        actions: () => {
          throw new Error('crash on purpose');
        },
      },
      request: { actions: reply('inform', 'pong') },
    },
  }),
});

async function troupe(size: number): Promise<Bench> {
  // The default intensity (1 restart in 5 s, as OTP) would give up on the second cycle; a
  // 1 ms window keeps the supervisor's sliding window of restart times short.
  const system = await troupeSystem([{ id: 'crashy', agent: troupeCrashy, restart: 'permanent' }], {
    strategy: 'one-for-one',
    intensity: { maxRestarts: 1_000_000, withinMs: 1 },
  });
  return {
    async sample(): Promise<Sample> {
      const restartsBefore = system.lookup('/crashy')?.restarts ?? 0;
      const value = await medianLatency(size, async () => {
        void system.tell('/crashy', 'inform', 'crash');
        await system.request('/crashy', undefined, { timeoutMs: 5_000 });
      });
      return { value, work: (system.lookup('/crashy')?.restarts ?? 0) - restartsBefore };
    },
    close: () => system.stop(),
  };
}

// ---- nact ----

type CrashyMessage = { readonly type: 'crash' } | { readonly type: 'ping'; readonly replyTo: Ref<string> };

async function nact(size: number): Promise<Bench> {
  const system = nactSystem();
  let resets = 0;
  const crashy = spawn(
    system,
    (state: number, msg: CrashyMessage): number => {
      if (msg.type === 'crash') throw new Error('crash on purpose');
      dispatch(msg.replyTo, 'pong');
      return state;
    },
    'crashy',
    {
      // Runs at the first start and at every reset, so it counts restarts.
      initialStateFunc: () => {
        resets++;
        return 0;
      },
      onCrash: (_msg: CrashyMessage | undefined, _error: Error | undefined, ctx: SupervisionContext<CrashyMessage, Ref<never>>) => ctx.reset,
    },
  );
  return {
    async sample(): Promise<Sample> {
      const resetsBefore = resets;
      const value = await medianLatency(size, async () => {
        dispatch(crashy, { type: 'crash' });
        await query(crashy, (replyTo: Ref<string>): CrashyMessage => ({ type: 'ping', replyTo }), 5_000);
      });
      return { value, work: resets - resetsBefore };
    },
    close: async () => stopNact(system),
  };
}

export const restart: Scenario = {
  name: 'restart',
  unit: 'ms',
  higherIsBetter: false,
  describe: (size) => `median of ${size.toLocaleString('en-US')} crash-then-ask cycles per sample (XState: no restart, not measured)`,
  size: 1_000,
  quickSize: 10,
  warmups: 1,
  repetitions: 5,
  expectedWork: (size) => size,
  implementations: { troupe, xstate: undefined, nact },
  note: 'XState has no supervision, so it has no restart to measure.',
};
