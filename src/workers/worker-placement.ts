import { registerPlacement, type PlacementSite } from '../runtime/placement.js';
import type { Kernel } from '../runtime/kernel.js';
import { WorkerPool, type WorkerPoolOptions } from './pool.js';
import { ThreadExecutor } from './thread-executor.js';

/**
 * The `worker` placement: agents run on the system's pool of worker threads. Importing this
 * module registers it (Troupe's entry point does).
 */
registerPlacement({
  name: 'worker',
  open(runtime: Kernel, options: unknown): PlacementSite {
    const pool = new WorkerPool(runtime, (options ?? {}) as WorkerPoolOptions);
    return {
      createExecutor: (process) => new ThreadExecutor(process, pool),
      routeReserved: (message, kind) => pool.routeToThread(message, kind),
      close: () => pool.close(),
    };
  },
});
