/**
 * One inspector client's connection: everything the server sends it (event batches, replies,
 * errors, notices) goes through one bounded queue, written to the socket only while the
 * socket holds less than HIGH_WATER_BYTES unsent. A client that reads too slowly loses its
 * oldest events (and is told how many), never grows the server's memory: its replies wait
 * within a budget of their own, requests it makes meanwhile are refused as `busy` without
 * being worked on, and one that still does not read is closed.
 */
import type { WebSocket } from 'ws';
import type { EventBatch } from './event-stream.js';
import { CLOSE, type ServerMessage } from './protocol.js';
import { TokenBucket } from '../runtime/token-bucket.js';


/** Bytes a socket may hold unsent before a client counts as slow and what it is sent waits in its queue. */
export const HIGH_WATER_BYTES = 1 << 20;
/** Event frames a slow client's queue holds at most, in bytes, besides the `bufferEvents` bound on their count. */
const QUEUED_EVENT_BYTES = 8 << 20;
/** Room kept past one full reply for short answers (errors, `busy`, `dropped`) to a client that is behind. */
const SHORT_ANSWER_BYTES = 64 * 1024;
/** Requests of one client being worked on at once (a `send` may wait for its answer up to a minute). */
export const MAX_IN_FLIGHT = 16;
const RETRY_MS = 25;

export interface ConnectionLimits {
  readonly bufferEvents: number;
  readonly requestsPerSecond: number;
  readonly burst: number;
  readonly maxReplyBytes: number;
}

interface Queued {
  readonly text: string;
  /** Event frames only: their batch (so the oldest events can be dropped) and its event count. */
  readonly batch: EventBatch | undefined;
  readonly events: number;
}

export class Connection {
  private readonly queue: Queued[] = [];
  queuedEvents = 0;
  private queuedEventBytes = 0;
  private queuedAnswerBytes = 0;
  /** Events lost and not yet announced, and lost in total. */
  private unannounced = 0;
  dropped = 0;
  /** Requests answered (with a reply or an error) and being worked on, as `inspector.clients()` shows them. */
  answered = 0;
  inFlight = 0;
  private readonly bucket: TokenBucket;
  private overLimit = 0;
  private retry: ReturnType<typeof setTimeout> | undefined;
  closed = false;

  constructor(
    readonly socket: WebSocket,
    /** The client gave the token in its handshake: control and snapshots are open to it. */
    readonly authenticated: boolean,
    /** Where it connects from (`127.0.0.1` for every local client). */
    readonly address: string,
    private readonly limits: ConnectionLimits,
  ) {
    this.bucket = new TokenBucket(limits.burst, limits.requestsPerSecond, performance.now());
  }

  /** Bytes held for this client: unsent in its socket, and waiting in its queue. */
  get bufferedBytes(): number {
    return this.socket.bufferedAmount + this.queuedEventBytes + this.queuedAnswerBytes;
  }

  /** Behind on reading its answers: new requests are refused as `busy` instead of being worked on. */
  get busy(): boolean {
    return this.queuedAnswerBytes > 0 || this.socket.bufferedAmount >= HIGH_WATER_BYTES || this.inFlight >= MAX_IN_FLIGHT;
  }

  /** The first frame, on a fresh socket. */
  greet(message: ServerMessage): void {
    if (!this.closed) this.socket.send(JSON.stringify(message));
  }

  /**
   * An answer (reply, error or notice) in order with the events. Over the answer budget (one
   * full reply and room for short answers), a full reply is swapped for `busy` and a client
   * that does not even take that is closed.
   */
  answer(message: ServerMessage, text: string = JSON.stringify(message)): void {
    if (this.closed) return;
    if (this.queue.length === 0 && this.socket.bufferedAmount < HIGH_WATER_BYTES) {
      this.socket.send(text);
      return;
    }
    if (this.queuedAnswerBytes + text.length > this.limits.maxReplyBytes + SHORT_ANSWER_BYTES) {
      if (message.type === 'reply') {
        this.answer({ type: 'error', id: message.id, code: 'busy', message: 'the reply was dropped: this connection has not read the answers before it; read, then ask again' });
        return;
      }
      this.close(CLOSE.policy, 'this client does not read what it asked for');
      return;
    }
    this.queue.push({ text, batch: undefined, events: 0 });
    this.queuedAnswerBytes += text.length;
    this.pump();
  }

  /** Queues a batch, dropping the oldest events beyond the buffer, and sends what the socket takes. */
  enqueue(batch: EventBatch): void {
    if (this.closed) return;
    // A client keeping up gets every batch whole, however large; only a lagging one is bounded.
    if (this.queue.length === 0 && this.socket.bufferedAmount < HIGH_WATER_BYTES) {
      this.socket.send(batch.json);
      return;
    }
    const text = batch.seal().json;
    this.queue.push({ text, batch, events: batch.count });
    this.queuedEvents += batch.count;
    this.queuedEventBytes += text.length;
    this.dropOldestEvents();
    this.pump();
  }

  private dropOldestEvents(): void {
    while (this.queuedEvents > this.limits.bufferEvents || this.queuedEventBytes > QUEUED_EVENT_BYTES) {
      const at = this.queue.findIndex((item) => item.batch !== undefined);
      const oldest = this.queue[at] as Queued;
      const excess = this.queuedEvents - this.limits.bufferEvents;
      if (excess > 0 && excess < oldest.events) {
        const rest = (oldest.batch as EventBatch).withoutOldest(excess);
        this.queue[at] = { text: rest.json, batch: rest, events: rest.count };
        this.queuedEventBytes += rest.json.length - oldest.text.length;
        this.lose(excess);
      } else {
        this.queue.splice(at, 1);
        this.queuedEventBytes -= oldest.text.length;
        this.lose(oldest.events);
      }
    }
  }

  private lose(count: number): void {
    this.queuedEvents -= count;
    this.unannounced += count;
    this.dropped += count;
  }

  private readonly pump = (): void => {
    this.retry = undefined;
    if (this.closed) return;
    while (this.queue.length > 0 && this.socket.bufferedAmount < HIGH_WATER_BYTES) {
      const item = this.queue.shift() as Queued;
      if (item.batch === undefined) {
        this.queuedAnswerBytes -= item.text.length;
      } else {
        if (this.unannounced > 0) {
          this.socket.send(JSON.stringify({ type: 'dropped', count: this.unannounced } satisfies ServerMessage));
          this.unannounced = 0;
        }
        this.queuedEvents -= item.events;
        this.queuedEventBytes -= item.text.length;
      }
      this.socket.send(item.text);
    }
    if (this.queue.length > 0 && this.retry === undefined) {
      this.retry = setTimeout(this.pump, RETRY_MS);
      this.retry.unref();
    }
  };

  /** One request more: 'ok', 'limited' (past its rate: refused), or 'flood' (past it by a whole burst more: to be closed). `shared` is a budget it also draws on. */
  admit(shared: TokenBucket | undefined): 'ok' | 'limited' | 'flood' {
    const now = performance.now();
    if (this.bucket.takeAt(now) && (shared === undefined || shared.takeAt(now))) {
      this.overLimit = 0;
      return 'ok';
    }
    this.overLimit++;
    return this.overLimit > this.limits.burst ? 'flood' : 'limited';
  }

  close(code: number, reason: string): void {
    if (!this.closed) this.socket.close(code, reason);
    this.dispose();
  }

  dispose(): void {
    this.closed = true;
    if (this.retry !== undefined) clearTimeout(this.retry);
    this.queue.length = 0;
    this.queuedEvents = 0;
    this.queuedEventBytes = 0;
    this.queuedAnswerBytes = 0;
  }
}
