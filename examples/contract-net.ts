/**
 * Contract-net task allocation: a dispatcher hands a batch of five parcels to couriers that bid
 * for them. Couriers differ in price per kilogram, in how many jobs they take at once, and in
 * what they carry; the cheapest bid wins each parcel, the other bids are kept in reserve.
 *
 *   /                 one-for-one
 *   ├─ df             the directory facilitator: couriers register the `delivery` service
 *   ├─ van            0.4 per kg, 1 job at a time; its engine dies on its first job (a crash)
 *   ├─ bike           0.5 per kg, 2 jobs at a time, parcels up to 3 kg
 *   ├─ truck-a        1.0 per kg, 3 jobs at a time
 *   ├─ truck-b        1.5 per kg, 5 jobs at a time
 *   └─ dispatcher     the manager: one contract net per parcel, all five at once, reaward on
 *
 * The van wins parcel p1 and crashes while delivering it. Its supervisor restarts it, the
 * runtime answers the van's open award with `failure`, and the contract net gives p1 to the
 * next-best bid in reserve (the bike) without waiting for any deadline. The program prints
 * the allocation table.
 */
import { z } from 'zod';
import {
  contractNetOntology,
  contractor,
  createSystem,
  directoryChild,
  manager,
  refuse,
  supervisor,
  type Bid,
  type ContractNetOutcome,
} from '../src/index.js';

export const delivery = contractNetOntology({
  name: 'delivery',
  task: z.object({ parcel: z.string(), kg: z.number().positive() }),
  proposal: z.object({ price: z.number() }),
  result: z.object({ parcel: z.string(), deliveredBy: z.string() }),
});

type Parcel = z.output<typeof delivery.task>;
type Quote = z.output<typeof delivery.proposal>;
export type Allocation = ContractNetOutcome<Parcel, Quote, z.output<typeof delivery.result>>;

interface Courier {
  readonly id: string;
  readonly perKg: number;
  readonly capacity: number;
  readonly maxKg?: number;
  readonly breaksDown?: boolean;
}

export const COURIERS: readonly Courier[] = [
  { id: 'van', perKg: 0.4, capacity: 1, breaksDown: true },
  { id: 'bike', perKg: 0.5, capacity: 2, maxKg: 3 },
  { id: 'truck-a', perKg: 1.0, capacity: 3 },
  { id: 'truck-b', perKg: 1.5, capacity: 5 },
];

export const BATCH: readonly Parcel[] = [
  { parcel: 'p1', kg: 2 },
  { parcel: 'p2', kg: 4 },
  { parcel: 'p3', kg: 1 },
  { parcel: 'p4', kg: 7 },
  { parcel: 'p5', kg: 3 },
];

function courier({ id, perKg, capacity, maxKg, breaksDown }: Courier) {
  return contractor({
    ontology: delivery,
    name: id,
    bid: (parcel, { load }) => {
      if (maxKg !== undefined && parcel.kg > maxKg) return refuse(`${parcel.kg} kg is over ${maxKg} kg`);
      if (load.performing + load.proposed >= capacity) return refuse(`at capacity (${capacity})`);
      return { price: Math.round(perKg * parcel.kg * 100) / 100 };
    },
    perform: async (parcel) => {
      await Promise.resolve(); // on the road
      // Not a TaskFailure but an unexpected error: the courier agent crashes (let it crash).
      if (breaksDown === true) throw new Error(`engine failure while carrying ${parcel.parcel}`);
      return { parcel: parcel.parcel, deliveredBy: id };
    },
  });
}

/** Cheapest first; every other bid is the reserve, in price order, for a re-award. */
export function cheapestFirst(bids: readonly Bid<Quote>[]) {
  const sorted = [...bids].sort((a, b) => a.proposal.price - b.proposal.price || a.participant.localeCompare(b.participant));
  return { accept: sorted.slice(0, 1), reserve: sorted.slice(1) };
}

export interface Row {
  readonly parcel: string;
  readonly kg: number;
  readonly bids: number;
  readonly awardedTo: string;
  readonly price: number | undefined;
  readonly note: string;
}

function rowOf(parcel: Parcel, outcome: Allocation): Row {
  const result = outcome.results[0];
  const failures = outcome.failures.map((failure) => `${failure.participant.slice(1)} ${failure.kind}${failure.reawardedTo === undefined ? '' : `, re-awarded`}`);
  return {
    parcel: parcel.parcel,
    kg: parcel.kg,
    bids: outcome.proposals.length,
    awardedTo: result === undefined ? '-' : result.result.deliveredBy,
    price: result?.proposal.price,
    note: failures.join('; '),
  };
}

export function formatTable(rows: readonly Row[]): string {
  const header = ['parcel', 'kg', 'bids', 'delivered by', 'price', 'note'];
  const lines = rows.map((row) => [row.parcel, String(row.kg), String(row.bids), row.awardedTo, row.price === undefined ? '-' : row.price.toFixed(2), row.note]);
  const widths = header.map((title, i) => Math.max(title.length, ...lines.map((line) => (line[i] as string).length)));
  const render = (cells: readonly string[]) => cells.map((cell, i) => cell.padEnd(widths[i] as number)).join('  ').trimEnd();
  return [render(header), render(widths.map((width) => '-'.repeat(width))), ...lines.map(render)].join('\n');
}

export async function main(): Promise<{ rows: Row[]; restarts: number }> {
  const system = await createSystem({
    root: supervisor({
      strategy: 'one-for-one',
      intensity: { maxRestarts: 5, withinMs: 10_000 },
      children: [
        directoryChild(),
        ...COURIERS.map((spec) => ({ id: spec.id, agent: courier(spec) })),
        { id: 'dispatcher', agent: manager({ ontology: delivery, participants: { service: 'delivery' }, evaluate: cheapestFirst, reaward: true, replyByMs: 1_000, resultTimeoutMs: 5_000 }) },
      ],
    }),
  });
  try {
    for (const spec of COURIERS) await system.request('/df', { action: 'register', agent: `/${spec.id}`, services: [{ name: 'delivery', ontology: 'delivery' }] });
    const outcomes = await Promise.all(BATCH.map((parcel) => system.request<Allocation>('/dispatcher', parcel, { timeoutMs: 10_000 })));
    const rows = BATCH.map((parcel, i) => rowOf(parcel, (outcomes[i] as { content: Allocation }).content));
    console.log(formatTable(rows));
    const restarts = system.lookup('/van')?.restarts ?? 0;
    console.log(`\nthe van crashed and was restarted ${restarts} time(s); its parcel went to the next-best bid`);
    return { rows, restarts };
  } finally {
    await system.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
