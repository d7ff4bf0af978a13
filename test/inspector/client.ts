/**
 * A protocol client for the tests on a real `ws` WebSocket: every frame is kept, and tests
 * wait for frames, replies or the close instead of sleeping.
 */
import { WebSocket, type ClientOptions } from 'ws';
import { inspectorSubprotocols, type InspectorEvent, type ServerMessage } from '../../src/index.js';

export class TestClient {
  readonly frames: ServerMessage[] = [];
  /** The size in bytes of each frame, as received. */
  readonly sizes: number[] = [];
  readonly socket: WebSocket;
  readonly opened: Promise<void>;
  readonly closed: Promise<{ code: number; reason: string }>;
  private waiters: { match: (frame: ServerMessage) => boolean; resolve: (frame: ServerMessage) => void }[] = [];
  private nextId = 1;

  constructor(url: string, options?: ClientOptions & { token?: string }) {
    const { token, ...rest } = options ?? {};
    // The token travels in the handshake, as the page and `troupe inspect` send it.
    this.socket = token === undefined ? new WebSocket(url, rest) : new WebSocket(url, inspectorSubprotocols(token), rest);
    this.opened = new Promise((resolve, reject) => {
      this.socket.once('open', () => resolve());
      this.socket.once('error', reject);
    });
    this.closed = new Promise((resolve) => this.socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    this.socket.on('message', (data) => {
      this.sizes.push((data as Buffer).length);
      const frame = JSON.parse(data.toString()) as ServerMessage;
      this.frames.push(frame);
      this.waiters = this.waiters.filter((waiter) => {
        if (!waiter.match(frame)) return true;
        waiter.resolve(frame);
        return false;
      });
    });
  }

  static async open(url: string, options?: ClientOptions & { token?: string }): Promise<TestClient> {
    const client = new TestClient(url, options);
    await client.opened;
    await client.next((frame) => frame.type === 'hello');
    return client;
  }

  /** The first frame (seen already or to come) that matches. */
  next(match: (frame: ServerMessage) => boolean): Promise<ServerMessage> {
    const seen = this.frames.find(match);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve) => this.waiters.push({ match, resolve }));
  }

  /** Every streamed event so far, in order. */
  events(): InspectorEvent[] {
    return this.frames.flatMap((frame) => (frame.type === 'events' ? frame.events : []));
  }

  /** Resolves once a streamed event matches. */
  async event(match: (event: InspectorEvent) => boolean): Promise<InspectorEvent> {
    await this.next((frame) => frame.type === 'events' && frame.events.some(match));
    return this.events().find(match) as InspectorEvent;
  }

  /** Sends a request (an id is added) and resolves with its `reply` or `error` frame. */
  async call(request: Record<string, unknown>): Promise<Extract<ServerMessage, { type: 'reply' | 'error' }>> {
    const id = this.nextId++;
    this.socket.send(JSON.stringify({ id, ...request }));
    return (await this.next((frame) => (frame.type === 'reply' || frame.type === 'error') && frame.id === id)) as Extract<ServerMessage, { type: 'reply' | 'error' }>;
  }

  /** The size in bytes of a frame received. */
  sizeOf(frame: ServerMessage): number {
    return this.sizes[this.frames.indexOf(frame)] ?? 0;
  }

  sendRaw(data: string | Buffer, binary = false): void {
    this.socket.send(data, { binary });
  }

  close(): Promise<{ code: number; reason: string }> {
    this.socket.close();
    return this.closed;
  }
}
