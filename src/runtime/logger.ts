import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * The system logger: the caller's pino logger, or a new one at `TROUPE_LOG_LEVEL`
 * (default `warn`, and `silent` under a test runner so test output stays readable).
 */
export function resolveLogger(logger: Logger | undefined, name: string): Logger {
  if (logger !== undefined) return logger.child({ system: name });
  const level = process.env.TROUPE_LOG_LEVEL ?? (process.env.VITEST !== undefined ? 'silent' : 'warn');
  return pino({ name: 'troupe', level }).child({ system: name });
}
