/**
 * A log line a worker thread wrote (pino JSON, sent through the protocol), made fit for the
 * system's logger. Agent code on the thread can post any line, so a line is bounded, parsed,
 * its level clamped to `error` (a thread does not declare the process's end: `fatal` is the
 * main thread's word), and attributed to the thread that sent it, or to an agent placed on it:
 * a line that names another path keeps what it claimed under `claimed`, never as its own
 * `path`, `agent` or `incarnation`.
 */
import type { LevelWithSilent } from 'pino';
import { WorkerProtocolError } from './worker-errors.js';
import { preview, type WireThread } from './wire-check.js';

/** Longest log line read; a longer one is dropped, with a warning that says so. */
export const MAX_LOG_LINE = 65_536;

export type ThreadLogLevel = Exclude<LevelWithSilent, 'silent' | 'fatal'>;

export interface ThreadLogRecord {
  readonly level: ThreadLogLevel;
  readonly fields: Record<string, unknown>;
  readonly msg: string;
}

/** pino's levels up to `error`, highest first: a line is written at the highest one its level reaches. */
const LEVELS: readonly (readonly [number, ThreadLogLevel])[] = [
  [50, 'error'],
  [40, 'warn'],
  [30, 'info'],
  [20, 'debug'],
  [10, 'trace'],
];

/** Fields of pino's own (rewritten by the system's logger) and keys that would reach an object's prototype. */
const DROPPED = new Set(['level', 'msg', 'time', 'pid', 'hostname', '__proto__', 'constructor', 'prototype']);
/** The fields that say which agent wrote a line. */
const ATTRIBUTION = ['path', 'agent', 'incarnation'] as const;

/** Reads one line; throws WorkerProtocolError for a line that is not a JSON object (pino writes nothing else). */
export function readThreadLog(line: string, thread: WireThread): ThreadLogRecord {
  if (line.length > MAX_LOG_LINE) {
    return { level: 'warn', fields: { thread: thread.threadId, characters: line.length }, msg: `worker thread ${thread.threadId} wrote a log line of ${line.length} characters, over the limit of ${MAX_LOG_LINE}; it was dropped` };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    throw new WorkerProtocolError(thread.threadId, `a log line that is not JSON: ${preview(line)}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new WorkerProtocolError(thread.threadId, `a log line that is not a JSON object: ${preview(line)}`);
  const record = parsed as Record<string, unknown>;
  const fields: Record<string, unknown> = {};
  for (const key of Object.keys(record)) if (!DROPPED.has(key)) fields[key] = record[key];
  attribute(fields, thread);
  return { level: levelOf(record.level), fields, msg: typeof record.msg === 'string' ? record.msg : '' };
}

function levelOf(level: unknown): ThreadLogLevel {
  if (typeof level !== 'number') return 'info';
  return LEVELS.find(([value]) => level >= value)?.[1] ?? 'trace';
}

/** The line is the thread's, or an agent's placed on it; any other claim is kept aside under `claimed`. */
function attribute(fields: Record<string, unknown>, thread: WireThread): void {
  const path = fields.path;
  const claims = ATTRIBUTION.some((key) => fields[key] !== undefined);
  if (claims && !(typeof path === 'string' && thread.wasPlaced(path))) {
    const claimed: Record<string, unknown> = {};
    for (const key of ATTRIBUTION) {
      if (fields[key] !== undefined) claimed[key] = fields[key];
      delete fields[key];
    }
    fields.claimed = claimed;
  }
  fields.thread = thread.threadId;
}
