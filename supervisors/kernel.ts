import type { Runtime } from '../src/runtime/runtime.js';

/**
 * All a supervisor uses of the Runtime, and nothing else of it: ids for its incarnations, agent
 * nodes for its agent children, its path in the registry, events, watchers and the logger.
 * (A nested supervisor's NodeSpec.start is handed the Runtime itself, unopened, as tree.ts asks.)
 */
export type SupervisorKernel = Pick<Runtime, 'newIncarnation' | 'createAgent' | 'register' | 'unregister' | 'emit' | 'settleWatchers' | 'notifyTerminated' | 'logger'>;
