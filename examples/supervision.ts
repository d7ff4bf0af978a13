/**
 * Supervision at work: agents that crash and hang are restarted while a client keeps getting
 * answers, and a supervisor that sees too many failures gives up and escalates.
 *
 *   /                 one-for-one, at most 1 restart within 60 s
 *   └─ /workers       one-for-one, at most 3 restarts within 60 s
 *      ├─ divider     divides 100 by n; has a bug: n = 0 throws
 *      └─ fetcher     "fetches" a URL; https://slow.example never answers (heartbeat finds it)
 *
 * Part 1: the divider crashes on two of six requests and the fetcher hangs; each is restarted,
 * the crashed and hung requests are answered `failure` at once, every other request `inform`.
 * Part 2: more crashes than /workers allows; it gives up and escalates to the root, which
 * restarts the whole /workers subtree once; when that fails too, the root gives up and the
 * system stops. The supervision events are printed as `system.subscribe` delivers them.
 */
import { pino } from 'pino';
import { assign, fromPromise, setup } from 'xstate';
import { z } from 'zod';
import {
  createSystem,
  defineAgent,
  describeExit,
  FailureError,
  reply,
  supervisor,
  SystemStoppedError,
  type AclMessage,
  type InboundEvents,
  type System,
  type SystemEvent,
} from '../src/index.js';

// ---- the agents ---------------------------------------------------------------------------

const divideContent = { request: z.object({ n: z.number() }) };

/** The bug the supervisor has to live with: an exception in an action is a crash. */
function divide(n: number): number {
  if (n === 0) throw new RangeError('cannot divide 100 by zero');
  return 100 / n;
}

export const divider = defineAgent({
  name: 'divider',
  content: divideContent,
  machine: setup({ types: { events: {} as InboundEvents<typeof divideContent> } }).createMachine({
    on: { request: { actions: reply('inform', ({ event }) => ({ result: divide(event.content.n) })) } },
  }),
});

export const SLOW_URL = 'https://slow.example/report';
export const HEARTBEAT = { everyMs: 25, timeoutMs: 300 } as const;

const fetchContent = { request: z.object({ url: z.string() }) };
type FetchRequest = AclMessage<'request', { url: string }>;

function job(context: { job: FetchRequest | undefined }): FetchRequest {
  if (context.job === undefined) throw new Error('the fetcher is fetching without a request');
  return context.job;
}

/**
 * The fetcher waits in a state tagged `busy` while its invoked fetch runs. The heartbeat
 * declares it hung when that state is held past `timeoutMs`; stopping the hung incarnation
 * aborts the fetch's AbortSignal, which `onAbort` reports.
 */
function fetcherAgent(onAbort: (url: string) => void) {
  return defineAgent({
    name: 'fetcher',
    content: fetchContent,
    heartbeat: HEARTBEAT,
    machine: setup({
      types: { context: {} as { job: FetchRequest | undefined }, events: {} as InboundEvents<typeof fetchContent> },
      actors: {
        fetchPage: fromPromise<string, { url: string }>(({ input, signal }) => {
          // Other pages answer at once (so no timer can catch them busy); this one never does.
          if (input.url !== SLOW_URL) return Promise.resolve(`<h1>${input.url}</h1>`);
          return new Promise<string>((_resolve, reject) => {
            signal.addEventListener('abort', () => {
              onAbort(input.url);
              reject(new Error('aborted'));
            });
          });
        }),
      },
    }).createMachine({
      context: { job: undefined },
      initial: 'idle',
      states: {
        idle: { on: { request: { target: 'fetching', actions: assign({ job: ({ event }) => event }) } } },
        fetching: {
          tags: ['busy'],
          invoke: {
            src: 'fetchPage',
            input: ({ context }) => ({ url: job(context).content.url }),
            onDone: { target: 'idle', actions: reply('inform', ({ event }) => ({ bytes: event.output.length }), { to: ({ context }) => job(context) }) },
          },
        },
      },
    }),
  });
}

// ---- narration ------------------------------------------------------------------------------

/** One line per supervision event, without incarnation ids or timings, so runs read the same. */
function describeEvent(event: SystemEvent): string | undefined {
  switch (event.type) {
    case 'failed':
      return `    event  failed     ${event.path}: ${event.reason.startsWith('hung:') ? 'hung' : event.reason}`;
    case 'hung':
      return `    event  hung       ${event.path}: busy for longer than ${HEARTBEAT.timeoutMs} ms`;
    case 'restarted':
      return `    event  restarted  ${event.path} (restart ${event.restarts} of this slot)`;
    case 'escalated':
      return `    event  escalated  ${event.path} gives up: ${event.reason}`;
    case 'started':
      return event.kind === 'supervisor' ? `    event  started    ${event.path} (a fresh supervisor with fresh children)` : undefined;
    case 'stopped':
      return event.kind === 'supervisor' ? `    event  stopped    ${event.path}` : undefined;
  }
}

/** Resolves at the next event that matches; registered before the action that causes it. */
function nextEvent(system: System, matches: (event: SystemEvent) => boolean): Promise<SystemEvent> {
  return new Promise((resolve) => {
    const unsubscribe = system.subscribe((event) => {
      if (!matches(event)) return;
      unsubscribe();
      resolve(event);
    });
  });
}

interface Answer {
  readonly performative: 'inform' | 'failure';
  readonly text: string;
}

/**
 * Sends a request and turns its answer into a printable line. The handler is attached at
 * once, so an answer that fails before anyone awaits it is never an unhandled rejection.
 */
function requestLine(system: System, path: string, content: unknown): Promise<Answer> {
  return system.request(path, content, { timeoutMs: 30_000 }).then(
    (answer): Answer => ({ performative: 'inform', text: `inform ${JSON.stringify(answer.content)}` }),
    (error: unknown): Answer => {
      if (error instanceof FailureError) return { performative: 'failure', text: `failure (${error.reason ?? 'no reason given'})` };
      throw error;
    },
  );
}

export interface Summary {
  /** Answers to the requests of part 1, by performative. */
  readonly informs: number;
  readonly failures: number;
  /** Heartbeat detections and aborted invoked work. */
  readonly hung: number;
  readonly aborted: number;
  /** Supervisors that gave up, in order. */
  readonly escalated: readonly string[];
  /** Why the system stopped. */
  readonly terminated: string;
  /** A request after the end is refused at once. */
  readonly afterStop: string;
}

export async function main(): Promise<Summary> {
  let aborted = 0;
  // Windows of 60 s: every restart of the demo falls inside them however slow the machine, so the run always ends the same way.
  const system = await createSystem({
    root: supervisor({
      strategy: 'one-for-one',
      intensity: { maxRestarts: 1, withinMs: 60_000 },
      children: [
        {
          id: 'workers',
          agent: supervisor({
            strategy: 'one-for-one',
            intensity: { maxRestarts: 3, withinMs: 60_000 },
            children: [
              { id: 'divider', agent: divider },
              {
                id: 'fetcher',
                agent: fetcherAgent((url) => {
                  aborted++;
                  console.log(`    fetcher: the fetch of ${url} was aborted (its AbortSignal fired)`);
                }),
              },
            ],
          }),
        },
      ],
    }),
    // The demo narrates for itself; TROUPE_LOG_LEVEL=error shows the runtime's own crash logs too.
    logger: pino({ level: process.env.TROUPE_LOG_LEVEL ?? 'silent' }),
  });
  const escalated: string[] = [];
  let hung = 0;
  system.subscribe((event) => {
    if (event.type === 'escalated') escalated.push(event.path);
    if (event.type === 'hung') hung++;
    const line = describeEvent(event);
    if (line !== undefined) console.log(line);
  });
  system.watch('/workers/divider', (signal) => console.log(`    watch  terminated ${signal.path}: ${describeExit(signal.reason)}`));

  console.log('Troupe supervision demo');
  console.log('  /          one-for-one, at most 1 restart in 60 s');
  console.log('  /workers   one-for-one, at most 3 restarts in 60 s: divider (crashes on 0), fetcher (heartbeat every 25 ms)');
  console.log('');
  console.log(`Part 1: the client keeps asking while both agents fail`);

  // The hung fetch is in flight the whole time; its deadline is far away, the heartbeat is not.
  console.log(`  client → /workers/fetcher ${SLOW_URL} (never answers by itself)`);
  const slow = requestLine(system, '/workers/fetcher', { url: SLOW_URL });
  const fetcherBack = nextEvent(system, (event) => event.type === 'restarted' && event.path === '/workers/fetcher');

  const inputs = [4, 0, 5, 0, 20, 8];
  console.log(`  client → /workers/divider n = ${inputs.join(', ')} (all at once)`);
  const dividerBack = nextEvent(system, (event) => event.type === 'restarted' && event.path === '/workers/divider' && event.restarts === 2);
  const answers = await Promise.all(inputs.map((n) => requestLine(system, '/workers/divider', { n })));
  for (const [index, answer] of answers.entries()) console.log(`  100 / ${inputs[index]} → ${answer.text}`);
  await dividerBack;

  const slowAnswer = await slow;
  answers.push(slowAnswer);
  console.log(`  ${SLOW_URL} → ${slowAnswer.text}`);
  await fetcherBack;

  const fast = await requestLine(system, '/workers/fetcher', { url: 'https://fast.example' });
  answers.push(fast);
  console.log(`  https://fast.example → ${fast.text} (from the fetcher's next incarnation)`);
  console.log(`  /workers now: ${system.whichChildren('/workers').map((child) => `${child.id} ${child.status} (restarts: ${child.restarts})`).join(', ')}`);

  console.log('');
  console.log('Part 2: one crash too many (the 3 restarts /workers allows are used up)');
  const ended = system.whenTerminated;
  for (let pill = 1; !escalated.includes('/'); pill++) {
    // Each pill waits for the divider to be back (restarted, or started in a fresh subtree), so it meets a running agent.
    const back = nextEvent(system, (event) => event.path === '/workers/divider' && (event.type === 'restarted' || event.type === 'started'));
    const answer = await requestLine(system, '/workers/divider', { n: 0 });
    console.log(`  pill ${pill}: 100 / 0 → ${answer.text}`);
    await Promise.race([back, ended]);
  }
  const reason = await ended;
  console.log(`  system terminated: ${describeExit(reason)}`);

  let afterStop = '';
  try {
    await system.request('/workers/divider', { n: 1 });
  } catch (error) {
    if (!(error instanceof SystemStoppedError)) throw error;
    afterStop = error.code;
    console.log(`  a request now is rejected at once: ${error.name} (${error.code})`);
  }

  return {
    informs: answers.filter((answer) => answer.performative === 'inform').length,
    failures: answers.filter((answer) => answer.performative === 'failure').length,
    hung,
    aborted,
    escalated,
    terminated: reason.kind,
    afterStop,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
