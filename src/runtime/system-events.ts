import type { Logger } from 'pino';

/** Lifecycle and supervision events, streamed by `system.events` (and later the inspector). */
export type SystemEvent =
  | { readonly type: 'started'; readonly path: string; readonly kind: 'agent' | 'supervisor'; readonly incarnation: string; readonly at: number }
  | { readonly type: 'failed'; readonly path: string; readonly kind: 'agent' | 'supervisor'; readonly incarnation: string; readonly reason: string; readonly at: number }
  | { readonly type: 'restarted'; readonly path: string; readonly kind: 'agent' | 'supervisor'; readonly incarnation: string; readonly restarts: number; readonly at: number }
  | { readonly type: 'stopped'; readonly path: string; readonly kind: 'agent' | 'supervisor'; readonly incarnation: string; readonly reason: string; readonly at: number }
  | { readonly type: 'hung'; readonly path: string; readonly incarnation: string; readonly detail: string; readonly at: number }
  | { readonly type: 'escalated'; readonly path: string; readonly reason: string; readonly at: number }
  | { readonly type: 'suspended'; readonly path: string; readonly incarnation: string; readonly at: number }
  | { readonly type: 'resumed'; readonly path: string; readonly incarnation: string; readonly at: number };

export type SystemEventType = SystemEvent['type'];

/**
 * The pino level each event is logged at. `failed` and `escalated` are logged where they
 * happen, with the error and the conversation (agent cell) or the limit (supervisor).
 */
const LOG_LEVEL: Readonly<Record<SystemEventType, 'debug' | 'info' | 'warn' | undefined>> = {
  started: 'debug',
  stopped: 'debug',
  restarted: 'info',
  hung: 'warn',
  failed: undefined,
  escalated: undefined,
  suspended: 'info',
  resumed: 'info',
};

/** Logs a lifecycle event; costs one level check when the level is off (every agent start emits one). */
export function logSystemEvent(logger: Logger, event: SystemEvent): void {
  const level = LOG_LEVEL[event.type];
  if (level === undefined || !logger.isLevelEnabled(level)) return;
  const { type, at: _at, ...fields } = event;
  logger[level](fields, `${event.path} ${type}`);
}
