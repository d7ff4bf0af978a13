/**
 * The offline model in a process of its own, standing in for a remote provider in the
 * io-fanout benchmarks: its HTTP parsing, timers and JSON run on another event loop (and
 * core), so they do not count against the Troupe process being measured.
 *
 *   node offline-model-host.js <latencyMs>
 *
 * Prints one JSON line `{ "baseURL": ... }` once listening; stops when its stdin ends (the
 * parent closed it, or died), so it never outlives the benchmark.
 */
import { startOfflineModel } from '../../actors/offline-model/offline-model.js';

const latencyMs = Number(process.argv[2] ?? '0');
const model = await startOfflineModel({ latencyMs });
process.stdout.write(`${JSON.stringify({ baseURL: model.baseURL })}\n`);
process.stdin.resume();
process.stdin.on('end', () => {
  void model.close().finally(() => process.exit(0));
});
