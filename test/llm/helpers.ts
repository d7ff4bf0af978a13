/**
 * Shared pieces for the LLM tests: a real offline model server (stopped after each test),
 * a real `openai` client pointed at it, and a tracked system.
 */
import OpenAI from 'openai';
import { afterEach } from 'vitest';
import { startOfflineModel, type OfflineModel, type OfflineModelOptions } from '../../src/index.js';

export { latch, type Latch } from '../support/latch.js';
export { startSystem, track, rootOf } from '../kernel/helpers.js';

const servers: OfflineModel[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

export async function offline(options: OfflineModelOptions = {}): Promise<{ server: OfflineModel; client: OpenAI }> {
  const server = await startOfflineModel(options);
  servers.push(server);
  return { server, client: new OpenAI({ baseURL: server.baseURL, apiKey: 'offline' }) };
}

/** Resolves when `count` requests have reached the server. */
export function whenRequests(server: OfflineModel, count: number): Promise<void> {
  return new Promise((resolve) => {
    if (server.stats.requests >= count) return resolve();
    const off = server.on(() => {
      if (server.stats.requests < count) return;
      off();
      resolve();
    });
  });
}

/** A barrier of `size`: each arrival waits until all have arrived, or rejects after `ms` (the calls did not overlap). */
export function barrier(size: number, ms = 5_000): () => Promise<void> {
  let arrived = 0;
  let open!: () => void;
  const all = new Promise<void>((resolve) => {
    open = resolve;
  });
  return () => {
    arrived++;
    if (arrived === size) open();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`only ${arrived} of ${size} calls were running at once`)), ms);
    });
    return Promise.race([all, late]).finally(() => clearTimeout(timer));
  };
}
