import { setup } from 'xstate';
import { z } from 'zod';
import { createSystem, defineAgent, reply, supervisor, type InboundEvents } from '../src/index.js';

const content = { request: z.object({ name: z.string() }) };

export const greeter = defineAgent({
  name: 'greeter',
  content,
  machine: setup({ types: { events: {} as InboundEvents<typeof content> } }).createMachine({
    on: {
      request: { actions: reply('inform', ({ event }) => ({ text: `Hello, ${event.content.name}` })) },
    },
  }),
});

export async function main(): Promise<string> {
  const system = await createSystem({
    root: supervisor({
      strategy: 'one-for-one',
      intensity: { maxRestarts: 3, withinMs: 5_000 },
      children: [{ id: 'greeter', agent: greeter, restart: 'permanent' }],
    }),
  });
  const answer = await system.request('/greeter', { name: 'Ada' }, { timeoutMs: 1_000, expect: z.object({ text: z.string() }) });
  console.log(`${answer.performative}: ${answer.content.text}`);
  console.log(JSON.stringify(system.whichChildren('/').map(({ id, path, status }) => ({ id, path, status }))));
  await system.stop();
  return answer.content.text;
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
