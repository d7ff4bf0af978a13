/**
 * The LLM agent against the real offline model server through the real `openai` SDK: text
 * answers, parallel tool calls, agent tools, tool errors, retries, aborts, deadlines, hangs,
 * malformed output, structured output and bounded memory.
 */
import { describe, expect, it } from 'vitest';
import { assign, enqueueActions, setup } from 'xstate';
import { z } from 'zod';
import { agentTool, ConfigurationError, createLimiter, DeadlineError, defineAgent, FailureError, llmAgent, reply, tool, toolResults, lastText, type AclMessage, type LlmAgentEvent, type OfflineRequest } from '../../src/index.js';
import { barrier, latch, offline, startSystem, whenRequests } from './helpers.js';

const MODEL = 'offline-test';

async function failureOf(promise: Promise<unknown>): Promise<FailureError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(FailureError);
  return error as FailureError;
}

describe('llmAgent', () => {
  it('answers a request with the model text (inform)', async () => {
    const { server, client } = await offline();
    const system = await startSystem([{ id: 'agent', agent: llmAgent({ name: 'agent', model: MODEL, instructions: 'Be brief.', client }) }]);
    const answer = await system.request('/agent', 'what is 2 + 2?');
    expect(answer.performative).toBe('inform');
    expect(answer.content).toBe('offline answer: what is 2 + 2?');
    expect(server.stats.requests).toBe(1);
  });

  it('runs the tool calls of one turn in parallel and gives every result back to the model', async () => {
    const meet = barrier(3);
    const seen: OfflineRequest[] = [];
    const { client } = await offline({
      script: (request) => {
        seen.push(request);
        if (toolResults(request).length === 0) return { toolCalls: ['a', 'b', 'c'].map((key) => ({ name: 'fetch', arguments: { key } })) };
        return { content: `merged ${toolResults(request).join(',')}` };
      },
    });
    const fetch = tool({
      name: 'fetch',
      description: 'fetches a key',
      parameters: z.object({ key: z.string() }),
      run: async ({ key }) => {
        await meet(); // resolves only when all three calls are running at once
        return `value-${key}`;
      },
    });
    const system = await startSystem([{ id: 'agent', agent: llmAgent({ name: 'agent', model: MODEL, instructions: 'Use tools.', client, tools: [fetch] }) }]);
    const answer = await system.request('/agent', 'fetch a, b and c');
    expect(answer.content).toBe('merged value-a,value-b,value-c');
    expect(seen[1]?.messages.filter((message) => message.role === 'tool').map((message) => message.tool_call_id)).toEqual(['call_1_0', 'call_1_1', 'call_1_2']);
  });

  it('asks agent tools of one turn at once: a tool agent that answers only when all three asked still answers', async () => {
    // Holds every request until the third arrives: sequential asks would never get an answer.
    const gather = defineAgent({
      name: 'gather',
      machine: setup({ types: { context: {} as { held: AclMessage[] }, events: {} as AclMessage } }).createMachine({
        context: { held: [] },
        on: {
          request: [
            { guard: ({ context }) => context.held.length < 2, actions: assign({ held: ({ context, event }) => [...context.held, event] }) },
            {
              actions: [
                enqueueActions(({ context, event, enqueue }) => {
                  for (const held of [...context.held, event]) enqueue(reply('inform', `got ${(held.content as { n: number }).n}`, { to: () => held }));
                }),
                assign({ held: [] }),
              ],
            },
          ],
        },
      }),
    });
    const { client } = await offline({
      script: (request) => (toolResults(request).length === 0 ? { toolCalls: [1, 2, 3].map((n) => ({ name: 'gather', arguments: { n } })) } : { content: toolResults(request).join(',') }),
    });
    const gatherTool = agentTool({ name: 'gather', description: 'gathers', path: '/gather', parameters: z.object({ n: z.number() }), timeoutMs: 5_000 });
    const system = await startSystem([
      { id: 'gather', agent: gather },
      { id: 'agent', agent: llmAgent({ name: 'agent', model: MODEL, instructions: 'x', client, tools: [gatherTool] }) },
    ]);
    expect((await system.request('/agent', 'go', { timeoutMs: 10_000 })).content).toBe('got 1,got 2,got 3');
  });

  it('calls another agent as a tool with request; tool errors go back to the model, not crashes', async () => {
    const lookup = defineAgent({
      name: 'lookup',
      machine: setup({ types: { events: {} as AclMessage } }).createMachine({
        on: { request: { actions: reply('inform', ({ event }) => ({ capital: (event.content as { country: string }).country === 'France' ? 'Paris' : 'unknown' })) } },
      }),
    });
    const { client } = await offline({
      script: (request) => {
        if (toolResults(request).length === 0) {
          return {
            toolCalls: [
              { name: 'lookup', arguments: { country: 'France' } },
              { name: 'broken', arguments: {} },
              { name: 'nosuch', arguments: {} },
              { name: 'lookup', arguments: '{not json' },
              { name: 'lookup', arguments: { country: 7 } },
            ],
          };
        }
        return { content: toolResults(request).join('\n') };
      },
    });
    const broken = tool({ name: 'broken', description: 'always throws', parameters: z.object({}), run: () => { throw new Error('disk on fire'); } });
    const agent = llmAgent({ name: 'agent', model: MODEL, instructions: 'x', client, tools: [agentTool({ name: 'lookup', description: 'capital of a country', path: '/lookup', parameters: z.object({ country: z.string() }) }), broken] });
    const system = await startSystem([
      { id: 'lookup', agent: lookup },
      { id: 'agent', agent },
    ]);
    const answer = await system.request('/agent', 'capital of France?');
    const lines = (answer.content as string).split('\n');
    expect(lines[0]).toBe('{"capital":"Paris"}');
    expect(lines[1]).toContain('broken failed: disk on fire');
    expect(lines[2]).toContain('unknown tool \\"nosuch\\"');
    expect(lines[3]).toContain('not JSON');
    expect(lines[4]).toContain('invalid arguments for lookup');
    expect(system.lookup('/agent')?.restarts).toBe(0);
  });

  it('honours retry-after on 429, then answers', async () => {
    const { server, client } = await offline({ script: (request) => (request.index === 1 ? { fault: 'rate-limit', retryAfterMs: 300 } : { content: 'after the wait' }) });
    const limiter = createLimiter({ retry: { maxRetries: 2 } });
    const system = await startSystem([{ id: 'agent', agent: llmAgent({ name: 'agent', model: MODEL, instructions: 'x', client, limiter }) }]);
    const answer = await system.request('/agent', 'hi');
    expect(answer.content).toBe('after the wait');
    const answered429 = server.log.find((event) => event.type === 'answered' && event.status === 429);
    const second = server.log.find((event) => event.type === 'request' && event.index === 2);
    // The retry came no earlier than retry-after (timers never fire early; 2 ms for clock granularity).
    expect((second?.at ?? 0) - (answered429?.at ?? Infinity)).toBeGreaterThanOrEqual(298);
    expect(limiter.metrics).toMatchObject({ rateLimited: 1, retries: 1, succeeded: 1 });
  });

  it("one 429 asking for an hour on a shared limiter: another agent's call whose deadline it outlasts fails at once with rate-limited, never sent", async () => {
    const release = latch();
    const { server, client } = await offline({
      script: async (request) => {
        if (request.index > 1) return { content: 'should not be asked' };
        await release.promise; // answered once the other agent's call waits in the limiter
        return { fault: 'rate-limit', retryAfterMs: 3_600_000 };
      },
    });
    const limiter = createLimiter({ maxConcurrent: 1, retry: { maxRetries: 1 } });
    // Told when the second call enters the limiter (behind the first, which holds its only slot).
    let entered = 0;
    const run = limiter.run.bind(limiter);
    const queued = latch();
    limiter.run = (task, call) => {
      if (++entered === 2) queued.open();
      return run(task, call);
    };
    const system = await startSystem([
      { id: 'patient', agent: llmAgent({ name: 'patient', model: MODEL, instructions: 'x', client, limiter, deadlineMs: 120_000 }), shutdownMs: 'brutal' },
      { id: 'hurried', agent: llmAgent({ name: 'hurried', model: MODEL, instructions: 'x', client, limiter, deadlineMs: 30_000 }) },
    ]);
    const patient = system.request('/patient', 'first', { timeoutMs: 130_000 }).catch((error: unknown) => error);
    await whenRequests(server, 1);
    const hurried = failureOf(system.request('/hurried', 'second', { timeoutMs: 40_000 }));
    await queued.promise;
    expect(limiter.metrics.queueDepth).toBe(1);
    release.open();
    const error = await hurried;
    expect(error.reason).toBe('rate-limited');
    expect(error.message).toMatch(/the model call to offline-test was not sent: the provider rate-limited this limiter \(429 rate limit reached/);
    expect(server.stats.requests).toBe(1);
    // The capped pause (60 s) holds the patient agent's retry; stopping the system aborts it.
    expect(limiter.metrics).toMatchObject({ rateLimited: 1, retries: 1 });
    await system.stop();
    await patient;
  });

  it('retries 5xx with backoff and gives up after maxRetries with failure model-error', async () => {
    const { server, client } = await offline({ script: (request) => (request.index <= 2 ? { fault: 'server-error', status: 503 } : { content: 'third time lucky' }) });
    const limiter = createLimiter({ retry: { maxRetries: 2, baseMs: 5, maxMs: 20 } });
    const system = await startSystem([{ id: 'agent', agent: llmAgent({ name: 'agent', model: MODEL, instructions: 'x', client, limiter }) }]);
    expect((await system.request('/agent', 'one')).content).toBe('third time lucky');
    expect(server.stats.requests).toBe(3);

    const failing = await offline({ script: () => ({ fault: 'server-error' }) });
    const system2 = await startSystem([{ id: 'agent', agent: llmAgent({ name: 'agent', model: MODEL, instructions: 'x', client: failing.client, limiter: createLimiter({ retry: { maxRetries: 2, baseMs: 1 } }) }) }]);
    const error = await failureOf(system2.request('/agent', 'two'));
    expect(error.reason).toBe('model-error');
    expect(error.message).toContain('failed 3 times');
    expect(failing.server.stats.requests).toBe(3);
  });

  it('retries network errors, then fails with model-error', async () => {
    const { server, client } = await offline();
    await server.close(); // nothing listens there any more: connection refused
    const limiter = createLimiter({ retry: { maxRetries: 2, baseMs: 1 } });
    const system = await startSystem([{ id: 'agent', agent: llmAgent({ name: 'agent', model: MODEL, instructions: 'x', client, limiter }) }]);
    const error = await failureOf(system.request('/agent', 'anyone?'));
    expect(error.reason).toBe('model-error');
    expect(error.message).toContain('failed 3 times');
    expect(limiter.metrics.retries).toBe(2);
  });

  it('stopping the agent aborts its HTTP request: the server sees the connection closed', async () => {
    const { server, client } = await offline({ script: () => ({ fault: 'hang' }) });
    // A busy agent gets its shutdown time to finish (OTP's shutdown), then it is killed and its call aborted.
    const system = await startSystem([{ id: 'agent', agent: llmAgent({ name: 'agent', model: MODEL, instructions: 'x', client }), shutdownMs: 50 }]);
    const pending = system.request('/agent', 'never answered', { timeoutMs: 30_000 });
    await whenRequests(server, 1);
    const failed = failureOf(pending);
    await system.terminateChild('/', 'agent');
    await server.whenClientClosed(1);
    expect((await failed).reason).toBe('agent-stopped');
  });

  it('a call past its deadline fails with model-deadline, is aborted, and the agent stays up', async () => {
    const { server, client } = await offline({ script: (request) => (request.index === 1 ? { fault: 'hang' } : { content: 'fine now' }) });
    const system = await startSystem([{ id: 'agent', agent: llmAgent({ name: 'agent', model: MODEL, instructions: 'x', client, deadlineMs: 100 }) }]);
    const error = await failureOf(system.request('/agent', 'slow'));
    expect(error.reason).toBe('model-deadline');
    await server.whenClientClosed(1);
    expect((await system.request('/agent', 'again')).content).toBe('fine now');
    expect(system.lookup('/agent')?.restarts).toBe(0);
  });

  it('a call held past the heartbeat is a hang: aborted, answered failure hung, agent restarted', async () => {
    const { server, client } = await offline({ script: (request) => (request.index === 1 ? { fault: 'hang' } : { content: 'restarted and fine' }) });
    const agent = llmAgent({ name: 'agent', model: MODEL, instructions: 'x', client, deadlineMs: 60_000 });
    const system = await startSystem([{ id: 'agent', agent, heartbeat: { everyMs: 20, timeoutMs: 150 } }]);
    const error = await failureOf(system.request('/agent', 'stuck', { timeoutMs: 30_000 }));
    expect(error.reason).toBe('hung');
    await server.whenClientClosed(1);
    expect((await system.request('/agent', 'again')).content).toBe('restarted and fine');
    expect(system.lookup('/agent')?.restarts).toBe(1);
  });

  it("a request's reply-by shortens the model call's deadline: the call is aborted when the asker stops waiting", async () => {
    const { server, client } = await offline({ script: () => ({ fault: 'hang' }) });
    const system = await startSystem([{ id: 'agent', agent: llmAgent({ name: 'agent', model: MODEL, instructions: 'x', client, deadlineMs: 60_000 }) }]);
    // Whichever deadline fires first (the agent's model call or the asker's wait), the call is aborted.
    const error: unknown = await system.request('/agent', 'quick?', { timeoutMs: 100 }).catch((caught: unknown) => caught);
    expect(error instanceof DeadlineError || (error instanceof FailureError && error.reason === 'model-deadline')).toBe(true);
    await server.whenClientClosed(1);
    expect(system.lookup('/agent')?.restarts).toBe(0);
  });

  it('a model that keeps asking for tools is stopped after maxToolRounds with failure', async () => {
    const { server, client } = await offline({ script: () => ({ toolCalls: [{ name: 'noop', arguments: {} }] }) });
    let runs = 0;
    const noop = tool({ name: 'noop', description: 'does nothing', parameters: z.object({}), run: () => ++runs });
    const system = await startSystem([{ id: 'agent', agent: llmAgent({ name: 'agent', model: MODEL, instructions: 'x', client, tools: [noop], maxToolRounds: 3 }) }]);
    const error = await failureOf(system.request('/agent', 'loop'));
    expect(error.reason).toBe('too-many-tool-rounds');
    expect(server.stats.requests).toBe(4);
    expect(runs).toBe(3);
  });

  it('stopping the agent while a tool runs aborts the tool through its signal', async () => {
    const toolAborted = latch();
    const toolStarted = latch();
    const { client } = await offline({ script: () => ({ toolCalls: [{ name: 'slow', arguments: {} }] }) });
    const slow = tool({
      name: 'slow',
      description: 'waits for its signal',
      parameters: z.object({}),
      run: (_args, { signal }) =>
        new Promise((_, reject) => {
          toolStarted.open();
          signal.addEventListener('abort', () => {
            toolAborted.open();
            reject(signal.reason);
          });
        }),
    });
    const system = await startSystem([{ id: 'agent', agent: llmAgent({ name: 'agent', model: MODEL, instructions: 'x', client, tools: [slow] }), shutdownMs: 20 }]);
    const failed = failureOf(system.request('/agent', 'go', { timeoutMs: 30_000 }));
    await toolStarted.promise;
    await system.terminateChild('/', 'agent');
    await toolAborted.promise;
    expect((await failed).reason).toBe('agent-stopped');
  });

  it("a function tool past its timeoutMs is that tool's error for the model, and its signal fires; the agent goes on", async () => {
    const { client } = await offline({ script: (request) => (toolResults(request).length === 0 ? { toolCalls: [{ name: 'stuck', arguments: {} }, { name: 'deaf', arguments: {} }] } : { content: toolResults(request).join('\n') }) });
    const stuckAborted = latch();
    const stuck = tool({
      name: 'stuck',
      description: 'never settles on its own',
      parameters: z.object({}),
      timeoutMs: 50,
      run: (_args, { signal }) =>
        new Promise((_, reject) => {
          signal.addEventListener('abort', () => {
            stuckAborted.open();
            reject(signal.reason);
          });
        }),
    });
    const deaf = tool({ name: 'deaf', description: 'ignores its signal', parameters: z.object({}), timeoutMs: 50, run: () => new Promise(() => undefined) });
    const system = await startSystem([{ id: 'agent', agent: llmAgent({ name: 'agent', model: MODEL, instructions: 'x', client, tools: [stuck, deaf] }) }]);
    const answer = await system.request('/agent', 'go', { timeoutMs: 10_000 });
    const lines = (answer.content as string).split('\n');
    expect(lines[0]).toContain('stuck failed: it took longer than its timeoutMs of 50 ms');
    expect(lines[1]).toContain('deaf failed: it took longer than its timeoutMs of 50 ms');
    await stuckAborted.promise;
    expect(system.lookup('/agent')?.restarts).toBe(0);
  });

  it('a FIPA cancel in the task\'s conversation aborts its model call, or drops it while it waits; others are refused', async () => {
    const { server, client } = await offline({ script: (request) => (lastText(request) === 'hang' ? { fault: 'hang' } : { content: `done ${lastText(request)}` }) });
    const system = await startSystem([{ id: 'agent', agent: llmAgent({ name: 'agent', model: MODEL, instructions: 'x', client }) }]);
    const cancel = (conversationId: string) => system.request('/agent', undefined, { performative: 'cancel', options: { conversationId } });
    const running = failureOf(system.request('/agent', 'hang', { timeoutMs: 30_000, options: { conversationId: 'c-running' } }));
    await whenRequests(server, 1);
    const waiting = failureOf(system.request('/agent', 'waits', { timeoutMs: 30_000, options: { conversationId: 'c-waiting' } }));
    const next = system.request('/agent', 'next', { timeoutMs: 30_000 });
    expect((await cancel('c-waiting')).content).toEqual({ cancelled: 'c-waiting' });
    expect((await waiting).reason).toBe('cancelled');
    expect((await cancel('c-running')).content).toEqual({ cancelled: 'c-running' });
    expect((await running).reason).toBe('cancelled');
    await server.whenClientClosed(1); // the HTTP request was aborted
    expect((await next).content).toBe('done next');
    expect(server.stats.requests).toBe(2); // the dropped task never reached the model
    expect((await failureOf(cancel('c-unknown'))).reason).toBe('no-such-task');
  });

  it('malformed model output is a failure; the agent stays up and answers the next task', async () => {
    const { client } = await offline({ script: (request) => (request.index === 1 ? { fault: 'malformed' } : { content: 'clean' }) });
    const system = await startSystem([{ id: 'agent', agent: llmAgent({ name: 'agent', model: MODEL, instructions: 'x', client }) }]);
    const error = await failureOf(system.request('/agent', 'garbled'));
    expect(error.reason).toBe('malformed-output');
    expect((await system.request('/agent', 'again')).content).toBe('clean');
    expect(system.lookup('/agent')?.restarts).toBe(0);
  });

  it('structured output: sends the zod schema as response_format and answers the parsed object', async () => {
    const formats: unknown[] = [];
    const { client } = await offline({
      script: (request) => {
        formats.push(request.responseFormat);
        return { content: lastText(request) === 'good' ? '{"city":"Paris","population":2100000}' : '{"city":"Paris","population":"many"}' };
      },
    });
    const City = z.object({ city: z.string(), population: z.number() });
    const system = await startSystem([{ id: 'agent', agent: llmAgent({ name: 'agent', model: MODEL, instructions: 'x', client, output: City }) }]);
    const answer = await system.request('/agent', 'good', { expect: City });
    expect(answer.content).toEqual({ city: 'Paris', population: 2100000 });
    expect(formats[0]).toMatchObject({ type: 'json_schema', json_schema: { name: 'agent_output', strict: true, schema: { type: 'object', required: ['city', 'population'] } } });
    const error = await failureOf(system.request('/agent', 'bad'));
    expect(error.reason).toBe('malformed-output');
    expect(error.message).toContain('population');
  });

  it('an output schema whose refinement throws on the answer is failure malformed-output, not a crash', async () => {
    const { client } = await offline({ script: (request) => ({ content: lastText(request) === 'odd' ? '{"n":-1}' : '{"n":4}' }) });
    const Root = z.object({ n: z.number() }).refine(({ n }) => {
      if (n < 0) throw new RangeError(`no square root of ${n}`);
      return true;
    });
    const system = await startSystem([{ id: 'agent', agent: llmAgent({ name: 'agent', model: MODEL, instructions: 'x', client, output: Root }) }]);
    const error = await failureOf(system.request('/agent', 'odd'));
    expect(error.reason).toBe('malformed-output');
    expect(error.message).toContain('no square root of -1');
    expect((await system.request('/agent', 'fine')).content).toEqual({ n: 4 });
    expect(system.lookup('/agent')?.restarts).toBe(0);
  });

  it('keeps a bounded private history: older exchanges are dropped', async () => {
    const seen: OfflineRequest[] = [];
    const { client } = await offline({ script: (request) => (seen.push(request), { content: `re ${lastText(request)}` }) });
    const system = await startSystem([{ id: 'agent', agent: llmAgent({ name: 'agent', model: MODEL, instructions: 'x', client, memory: { maxMessages: 2 } }) }]);
    for (const task of ['one', 'two', 'three']) await system.request('/agent', task);
    expect(seen[1]?.messages.map((message) => message.content)).toEqual(['x', 'one', 're one', 'two']);
    expect(seen[2]?.messages.map((message) => message.content)).toEqual(['x', 'two', 're two', 'three']);
  });

  it.each([
    ['reset', ['x', 'after']],
    ['resume', ['x', 'before', 're before', 'after']],
  ] as const)('a restart with onRestart %s resets or keeps the history', async (onRestart, expected) => {
    const seen: OfflineRequest[] = [];
    const { client } = await offline({ script: (request) => (seen.push(request), lastText(request) === 'stuck' ? { fault: 'hang' } : { content: `re ${lastText(request)}` }) });
    const agent = llmAgent({ name: 'agent', model: MODEL, instructions: 'x', client });
    const system = await startSystem([{ id: 'agent', agent, onRestart, heartbeat: { everyMs: 20, timeoutMs: 150 } }]);
    await system.request('/agent', 'before');
    expect((await failureOf(system.request('/agent', 'stuck', { timeoutMs: 30_000 }))).reason).toBe('hung');
    await system.request('/agent', 'after');
    expect(seen[2]?.messages.map((message) => message.content)).toEqual(expected);
  });

  it("resume after a hang restarts from before the hung task, even when requests arrived during it (no re-run of the dead call)", async () => {
    const seen: string[] = [];
    const { server, client } = await offline({ script: (request) => (seen.push(lastText(request)), lastText(request) === 'stuck' ? { fault: 'hang' } : { content: `re ${lastText(request)}` }) });
    const agent = llmAgent({ name: 'agent', model: MODEL, instructions: 'x', client });
    const system = await startSystem([{ id: 'agent', agent, onRestart: 'resume', heartbeat: { everyMs: 20, timeoutMs: 150 } }]);
    await system.request('/agent', 'before');
    const stuck = failureOf(system.request('/agent', 'stuck', { timeoutMs: 30_000 }));
    await whenRequests(server, 2);
    const during = failureOf(system.request('/agent', 'during', { timeoutMs: 30_000 }));
    expect((await stuck).reason).toBe('hung');
    expect((await during).reason).toBe('hung');
    expect((await system.request('/agent', 'after', { timeoutMs: 30_000 })).content).toBe('re after');
    // The restarted agent did not call the model for the dead 'stuck' task again.
    expect(seen).toEqual(['before', 'stuck', 'after']);
    expect(system.lookup('/agent')?.restarts).toBe(1);
  });

  it('requests that arrive while it works wait their turn and are all answered in order', async () => {
    const gate = latch();
    const { client } = await offline({ script: async (request) => (request.index === 1 ? (await gate.promise, { content: 'first' }) : { content: `then ${lastText(request)}` }) });
    const system = await startSystem([{ id: 'agent', agent: llmAgent({ name: 'agent', model: MODEL, instructions: 'x', client }) }]);
    const answers = [system.request('/agent', 'a'), system.request('/agent', 'b'), system.request('/agent', 'c')];
    gate.open();
    expect((await Promise.all(answers)).map((answer) => answer.content)).toEqual(['first', 'then b', 'then c']);
  });

  it.each([1, 3, 7])('a shared limiter at %i keeps the model server at that many concurrent calls across 30 agents', async (limit) => {
    const { server, client } = await offline({ latencyMs: 5 });
    const limiter = createLimiter({ maxConcurrent: limit });
    const ids = Array.from({ length: 30 }, (_, i) => `a${i}`);
    const system = await startSystem(ids.map((id) => ({ id, agent: llmAgent({ name: id, model: MODEL, instructions: 'x', client, limiter }) })));
    const answers = await Promise.all(ids.map((id) => system.request(`/${id}`, id, { timeoutMs: 30_000 })));
    expect(answers.map((answer) => answer.content)).toEqual(ids.map((id) => `offline answer: ${id}`));
    expect(server.stats.maxInFlight).toBeLessThanOrEqual(limit);
    expect(limiter.metrics).toMatchObject({ maxActive: limit, succeeded: 30, active: 0, queueDepth: 0 });
  });

  it('bounds the tasks waiting while it works by its mailbox capacity: one more is answered failure mailbox-full', async () => {
    const gate = latch();
    const { server, client } = await offline({ script: async (request) => (request.index === 1 ? (await gate.promise, { content: 'first' }) : { content: `then ${lastText(request)}` }) });
    const system = await startSystem([{ id: 'agent', agent: llmAgent({ name: 'agent', model: MODEL, instructions: 'x', client, mailbox: { capacity: 2 } }) }]);
    const kept = [system.request('/agent', 'a', { timeoutMs: 30_000 })];
    await whenRequests(server, 1);
    kept.push(...['b', 'c'].map((task) => system.request('/agent', task, { timeoutMs: 30_000 })));
    await system.whenIdle(); // the agent has taken b and c out of its mailbox, into its waiting tasks
    const refused = await failureOf(system.request('/agent', 'd', { timeoutMs: 10_000 }));
    expect(refused.reason).toBe('mailbox-full');
    expect(refused.message).toContain('2 tasks waiting');
    gate.open();
    expect((await Promise.all(kept)).map((answer) => answer.content)).toEqual(['first', 'then b', 'then c']);
  });

  it('skips a waiting task whose asker gave up: no model call is made for it', async () => {
    const gate = latch();
    const events: LlmAgentEvent[] = [];
    const { server, client } = await offline({ script: async (request) => (request.index === 1 ? (await gate.promise, { content: 'first' }) : { content: `then ${lastText(request)}` }) });
    const system = await startSystem([{ id: 'agent', agent: llmAgent({ name: 'agent', model: MODEL, instructions: 'x', client, observe: (event) => events.push(event) }) }]);
    const first = system.request('/agent', 'slow', { timeoutMs: 30_000 });
    await whenRequests(server, 1);
    await expect(system.request('/agent', 'impatient', { timeoutMs: 50 })).rejects.toBeInstanceOf(DeadlineError);
    const later = system.request('/agent', 'patient', { timeoutMs: 30_000 });
    gate.open();
    expect((await first).content).toBe('first');
    expect((await later).content).toBe('then patient');
    expect(events.filter((event) => event.type === 'task').map((event) => (event as { task: string }).task)).toEqual(['slow', 'patient']);
    expect(server.stats.requests).toBe(2);
  });

  it.each([
    ['tool call arguments that are not a string', { choices: [{ index: 0, message: { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'noop', arguments: { a: 1 } } }] } }] }],
    ['a null tool call', { choices: [{ index: 0, message: { role: 'assistant', content: null, tool_calls: [null] } }] }],
    ['a null message', { choices: [{ index: 0, message: null }] }],
    ['content that is not text', { choices: [{ index: 0, message: { role: 'assistant', content: { text: 'hi' } } }] }],
    ['a JSON null body', null],
  ])('a completion of the wrong shape (%s) is failure malformed-output; the agent stays up', async (_what, body) => {
    const { client } = await offline({ script: (request) => (request.index === 1 ? { fault: 'wrong-shape', body } : { content: 'clean' }) });
    const noop = tool({ name: 'noop', description: 'does nothing', parameters: z.object({}).loose(), run: () => 'ok' });
    const system = await startSystem([{ id: 'agent', agent: llmAgent({ name: 'agent', model: MODEL, instructions: 'x', client, tools: [noop] }) }]);
    const error = await failureOf(system.request('/agent', 'odd'));
    expect(error.reason).toBe('malformed-output');
    expect((await system.request('/agent', 'again')).content).toBe('clean');
    expect(system.lookup('/agent')?.restarts).toBe(0);
  });

  it.each(['model-call', 'model-answer', 'tool-calls'] as const)('an observer that throws on %s crashes the agent like any action: failure agent-failed, restarted', async (throwOn) => {
    const { client } = await offline({ script: (request) => (toolResults(request).length === 0 ? { toolCalls: [{ name: 'noop', arguments: {} }] } : { content: 'done' }) });
    let thrown = false;
    const observe = (event: LlmAgentEvent): void => {
      if (event.type !== throwOn || thrown) return;
      thrown = true;
      throw new Error(`observer broke on ${throwOn}`);
    };
    const noop = tool({ name: 'noop', description: 'does nothing', parameters: z.object({}), run: () => 'ok' });
    const system = await startSystem([{ id: 'agent', agent: llmAgent({ name: 'agent', model: MODEL, instructions: 'x', client, tools: [noop], observe }) }]);
    const error = await failureOf(system.request('/agent', 'first'));
    expect(error.reason).toBe('agent-failed');
    expect(error.message).toContain(`observer broke on ${throwOn}`);
    expect((await system.request('/agent', 'second')).content).toBe('done');
    expect(system.lookup('/agent')?.restarts).toBe(1);
  });

  it('rejects bad options with a clear error', () => {
    expect(() => llmAgent({ name: 'a', model: 'm', instructions: 'x', deadlineMs: 2 ** 31 })).toThrow(/deadlineMs/);
    expect(() => llmAgent({ name: 'a', model: 'm', instructions: 'x', output: z.string().transform((text) => text.length) })).toThrow(ConfigurationError);
    expect(() => llmAgent({ name: 'a', model: '', instructions: 'x' })).toThrow(/model/);
    expect(() => llmAgent({ name: 'a', model: 'm', instructions: 'x', deadlineMs: 0 })).toThrow(/deadlineMs/);
    expect(() => llmAgent({ name: 'a', model: 'm', instructions: 'x', memory: { maxMessages: -1 } })).toThrow(/maxMessages/);
    const t = tool({ name: 't', description: 'd', parameters: z.object({}), run: () => 1 });
    expect(() => llmAgent({ name: 'a', model: 'm', instructions: 'x', tools: [t, t] })).toThrow(/two tools/);
    expect(() => tool({ name: 'has space', description: 'd', parameters: z.object({}), run: () => 1 })).toThrow(/tool name/);
    expect(() => tool({ name: 't', description: 'd', parameters: z.object({}), run: () => 1, timeoutMs: 0 })).toThrow(/timeoutMs/);
    expect(() => agentTool({ name: 'x', description: 'd', path: '/a', timeoutMs: 2 ** 31 })).toThrow(/timeoutMs/);
    expect(() => agentTool({ name: 'x', description: 'd', path: 'relative' })).toThrow(/path/);
  });
});
