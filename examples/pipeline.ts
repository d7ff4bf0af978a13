/**
 * An order pipeline: three supervised agents pass each order along in FIPA-ACL messages.
 *
 *   client ──request──▶ /intake ──request──▶ /pricer
 *                       /intake ◀──inform─── /pricer     (the order, priced)
 *                       /intake ──request──▶ /shipper
 *                       /intake ◀──inform─── /shipper    (the order, booked)
 *   client ◀──inform─── /intake
 *
 * The intake checks each order and `refuse`s bad ones; the pricer refuses what it cannot
 * price, and the intake passes that refusal on. Content that does not match an agent's zod
 * schema never reaches its machine: the runtime answers `not-understood`.
 *
 * The intake coordinates with `tell` and handles the answers as ordinary events, instead of
 * waiting in an invoked `ask`: an agent waiting in an invoked state would answer orders that
 * arrive meanwhile with `not-understood`, while this way it takes every order as it comes and
 * several orders are in flight at once.
 */
import { assign, setup } from 'xstate';
import { z } from 'zod';
import { createSystem, defineAgent, NotUnderstoodError, RefusedError, reply, supervisor, tell, type AclMessage, type InboundEvents } from '../src/index.js';

// ---- the vocabulary: one zod schema per message, typed content everywhere ------------------

const Order = z.object({ id: z.string(), sku: z.string(), quantity: z.number().int(), address: z.string() });
type Order = z.infer<typeof Order>;

/** The work item as it moves along: the order, plus one line per stage that handled it. */
const PriceRequest = z.object({ order: Order, steps: z.array(z.string()) });
const Priced = z.object({ stage: z.literal('priced'), order: Order, totalCents: z.number().int(), steps: z.array(z.string()) });
const Shipped = z.object({
  stage: z.literal('shipped'),
  order: Order,
  totalCents: z.number().int(),
  carrier: z.string(),
  trackingId: z.string(),
  steps: z.array(z.string()),
});
type Priced = z.infer<typeof Priced>;
type Shipped = z.infer<typeof Shipped>;

/** What the client gets back. */
export const Confirmation = z.object({ orderId: z.string(), total: z.string(), carrier: z.string(), trackingId: z.string(), steps: z.array(z.string()) });
export type Confirmation = z.infer<typeof Confirmation>;

/** A refusal or failure; the runtime's own failures also carry `detail`. */
const Reason = z.object({ reason: z.string(), detail: z.string().optional() });

const CATALOGUE_CENTS: Readonly<Record<string, number>> = { tea: 450, mug: 800, kettle: 3_200 };
const COURIER_FROM_CENTS = 5_000;

function money(cents: number): string {
  return `${(cents / 100).toFixed(2)} EUR`;
}

// ---- /intake: checks orders, then coordinates the pricer and the shipper ------------------

const intakeContent = {
  request: Order,
  inform: z.discriminatedUnion('stage', [Priced, Shipped]),
  refuse: Reason,
  failure: Reason,
};
type OrderRequest = AclMessage<'request', Order>;
/** The orders in flight, by conversation id: the client's request, to answer at the end. */
interface IntakeContext {
  readonly inFlight: Readonly<Record<string, OrderRequest>>;
}

/** Business rules. Shape errors never get here: the zod schema has answered them already. */
function problemWith(order: Order): string | undefined {
  if (order.quantity < 1 || order.quantity > 99) return `quantity must be 1 to 99, got ${order.quantity}`;
  if (order.address.trim() === '') return 'the address is empty';
  return undefined;
}

/** The client's request that a downstream answer belongs to; a stray answer is a bug, so it crashes. */
function clientRequest(context: IntakeContext, event: AclMessage): OrderRequest {
  const request = context.inFlight[event.conversationId];
  if (request === undefined) throw new Error(`${event.sender} answered conversation ${event.conversationId}, which has no order in flight`);
  return request;
}

function forget(context: IntakeContext, event: AclMessage): IntakeContext['inFlight'] {
  const { [event.conversationId]: _done, ...rest } = context.inFlight;
  return rest;
}

function confirmation(work: Priced | Shipped): Confirmation {
  if (work.stage !== 'shipped') throw new Error(`order ${work.order.id} came back ${work.stage}, not shipped`);
  return { orderId: work.order.id, total: money(work.totalCents), carrier: work.carrier, trackingId: work.trackingId, steps: work.steps };
}

export const intake = defineAgent({
  name: 'intake',
  content: intakeContent,
  machine: setup({ types: { context: {} as IntakeContext, events: {} as InboundEvents<typeof intakeContent> } }).createMachine({
    context: { inFlight: {} },
    on: {
      request: [
        {
          guard: ({ event }) => problemWith(event.content) !== undefined,
          actions: reply('refuse', ({ event }) => ({ reason: problemWith(event.content) ?? '' })),
        },
        {
          // Downstream messages reuse the client's conversation id: that is how answers find their order.
          actions: [
            assign({ inFlight: ({ context, event }) => ({ ...context.inFlight, [event.conversationId]: event }) }),
            tell('/pricer', 'request', ({ event }) => ({ order: event.content, steps: [`intake   accepted ${event.content.quantity} × ${event.content.sku}`] }), ({ event }) => ({ conversationId: event.conversationId })),
          ],
        },
      ],
      inform: [
        {
          guard: ({ event }) => event.content.stage === 'priced',
          actions: tell('/shipper', 'request', ({ event }) => event.content, ({ event }) => ({ conversationId: event.conversationId })),
        },
        {
          actions: [
            reply('inform', ({ event }) => confirmation(event.content), { to: ({ context, event }) => clientRequest(context, event) }),
            assign({ inFlight: ({ context, event }) => forget(context, event) }),
          ],
        },
      ],
      // A stage that cannot do its part says why; the client hears it from the intake.
      refuse: {
        actions: [
          reply('refuse', ({ event }) => ({ reason: `${event.sender}: ${event.content.reason}` }), { to: ({ context, event }) => clientRequest(context, event) }),
          assign({ inFlight: ({ context, event }) => forget(context, event) }),
        ],
      },
      failure: {
        actions: [
          reply('failure', ({ event }) => ({ reason: `${event.sender}: ${event.content.detail ?? event.content.reason}` }), { to: ({ context, event }) => clientRequest(context, event) }),
          assign({ inFlight: ({ context, event }) => forget(context, event) }),
        ],
      },
    },
  }),
});

// ---- /pricer and /shipper: one message in, one answer out ---------------------------------

const pricerContent = { request: PriceRequest };

export const pricer = defineAgent({
  name: 'pricer',
  content: pricerContent,
  machine: setup({ types: { events: {} as InboundEvents<typeof pricerContent> } }).createMachine({
    on: {
      request: [
        {
          guard: ({ event }) => CATALOGUE_CENTS[event.content.order.sku] === undefined,
          actions: reply('refuse', ({ event }) => ({ reason: `no price for sku "${event.content.order.sku}"` })),
        },
        {
          actions: reply('inform', ({ event }): Priced => {
            const { order, steps } = event.content;
            const unit = CATALOGUE_CENTS[order.sku] ?? 0;
            const totalCents = unit * order.quantity;
            return { stage: 'priced', order, totalCents, steps: [...steps, `pricer   ${order.quantity} × ${money(unit)} = ${money(totalCents)}`] };
          }),
        },
      ],
    },
  }),
});

const shipperContent = { request: Priced };

export const shipper = defineAgent({
  name: 'shipper',
  content: shipperContent,
  machine: setup({ types: { events: {} as InboundEvents<typeof shipperContent> } }).createMachine({
    on: {
      request: {
        actions: reply('inform', ({ event }): Shipped => {
          const { order, totalCents, steps } = event.content;
          const carrier = totalCents >= COURIER_FROM_CENTS ? 'courier' : 'post';
          const trackingId = `TRK-${order.id}`;
          return { ...event.content, stage: 'shipped', carrier, trackingId, steps: [...steps, `shipper  ${carrier} to ${order.address}, tracking ${trackingId}`] };
        }),
      },
    },
  }),
});

// ---- the client -----------------------------------------------------------------------------

export interface Outcome {
  readonly orderId: string;
  readonly performative: 'inform' | 'refuse' | 'not-understood' | 'failure';
  /** The confirmation's total and carrier, or the reason given. */
  readonly text: string;
}

/** Orders as a client might send them; A-5 is malformed on purpose (quantity is a string). */
export const ORDERS: readonly { readonly id: string; readonly sku: string; readonly quantity: unknown; readonly address: string }[] = [
  { id: 'A-1', sku: 'tea', quantity: 3, address: '12 Rue de Rivoli, Paris' },
  { id: 'A-2', sku: 'kettle', quantity: 2, address: 'Unter den Linden 5, Berlin' },
  { id: 'A-3', sku: 'mug', quantity: 0, address: 'Via Roma 1, Torino' },
  { id: 'A-4', sku: 'samovar', quantity: 1, address: 'Nevsky 28, St Petersburg' },
  { id: 'A-5', sku: 'mug', quantity: 'two', address: 'Gran Via 3, Madrid' },
];

function detailOf(content: unknown): string {
  const parsed = Reason.safeParse(content);
  if (!parsed.success) return JSON.stringify(content);
  return parsed.data.detail ?? parsed.data.reason;
}

export async function main(): Promise<Outcome[]> {
  const system = await createSystem({
    root: supervisor({
      strategy: 'one-for-one',
      intensity: { maxRestarts: 3, withinMs: 5_000 },
      children: [
        { id: 'intake', agent: intake },
        { id: 'pricer', agent: pricer },
        { id: 'shipper', agent: shipper },
      ],
    }),
  });

  console.log('Troupe pipeline: a client sends five orders at once to /intake, which works with /pricer and /shipper.');
  console.log(`Tree: ${system.whichChildren('/').map((child) => child.path).join(', ')} under one one-for-one supervisor.`);
  console.log('');

  // All five are in flight together; each ends in exactly one answer.
  const answers = await Promise.allSettled(ORDERS.map((order) => system.request('/intake', order, { timeoutMs: 5_000, expect: Confirmation })));

  const outcomes: Outcome[] = [];
  for (const [index, settled] of answers.entries()) {
    const order = ORDERS[index] as (typeof ORDERS)[number];
    const label = `${order.id}  ${String(order.quantity)} × ${order.sku}`.padEnd(20);
    let outcome: Outcome;
    if (settled.status === 'fulfilled') {
      const done = settled.value.content;
      outcome = { orderId: order.id, performative: 'inform', text: `${done.total} by ${done.carrier}, tracking ${done.trackingId}` };
      console.log(`${label} inform          ${outcome.text}`);
      for (const step of done.steps) console.log(`${' '.repeat(20)} · ${step}`);
    } else {
      const error: unknown = settled.reason;
      if (error instanceof RefusedError) outcome = { orderId: order.id, performative: 'refuse', text: detailOf(error.reply.content) };
      else if (error instanceof NotUnderstoodError) outcome = { orderId: order.id, performative: 'not-understood', text: detailOf(error.reply.content) };
      else outcome = { orderId: order.id, performative: 'failure', text: error instanceof Error ? error.message : String(error) };
      console.log(`${label} ${outcome.performative.padEnd(15)} ${outcome.text}`);
    }
    outcomes.push(outcome);
  }

  const handled = ['/intake', '/pricer', '/shipper'].map((path) => `${path} ${system.metrics(path)?.processed ?? 0}`).join(', ');
  console.log('');
  console.log('inform: done · refuse: understood, but declined · not-understood: content failed the schema, never reached the machine');
  console.log(`Messages handled: ${handled}. Dead letters: ${system.deadLetters.count}.`);
  await system.stop();
  return outcomes;
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
