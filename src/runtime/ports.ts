import type { AclMessage } from '../acl/message.js';
import { PORT_PREFIX } from './addresses.js';


/**
 * A conversation port: a temporary address that receives every message sent to it. Protocol
 * logic (a contract-net initiator, a subscription) opens one and uses it as the reply-to of
 * what it sends, so answers reach the protocol directly instead of the owner's mailbox and
 * its machine needs no handlers for them.
 */
export interface Port {
  readonly address: string;
  /** Stops delivery; later messages to the address are handled as to a closed port. */
  close(): void;
}

export type PortListener = (message: AclMessage) => void;

/**
 * The open ports of one runtime. Messages are handed to a port's listener in a microtask,
 * never during the send that delivered them, so a listener that sends in turn never runs
 * inside another agent's turn.
 */
export class Ports {
  private readonly open = new Map<string, { listener: PortListener; queue: AclMessage[]; scheduled: boolean }>();
  /** Ports are numbered in order, so every address below `next` that is not open is closed: no set of closed ports to keep. */
  private next = 0;

  constructor(
    private readonly onListenerError: (error: unknown) => void,
    /** A message that reached a port closed before its listener saw it. */
    private readonly onClosed: (message: AclMessage) => void,
    /** Put in every address after the prefix: a worker thread's ports name the thread, so the main thread can route to them. */
    private readonly namespace = '',
  ) {}

  openPort(listener: PortListener): Port {
    const address = PORT_PREFIX + this.namespace + (this.next++).toString(36);
    this.open.set(address, { listener, queue: [], scheduled: false });
    return {
      address,
      close: () => {
        const port = this.open.get(address);
        if (port === undefined) return;
        this.open.delete(address);
        for (const message of port.queue.splice(0)) this.onClosed(message);
      },
    };
  }

  /** `open` when the port took the message; `closed` for a port that was opened and closed since; `unknown` otherwise. */
  deliver(message: AclMessage): 'open' | 'closed' | 'unknown' {
    const port = this.open.get(message.receiver);
    if (port === undefined) return this.wasOpened(message.receiver) ? 'closed' : 'unknown';
    port.queue.push(message);
    if (!port.scheduled) {
      port.scheduled = true;
      queueMicrotask(() => this.drain(message.receiver));
    }
    return 'open';
  }

  private wasOpened(address: string): boolean {
    // A port of another namespace (another thread's) was never opened here.
    if (!address.startsWith(PORT_PREFIX + this.namespace)) return false;
    const number = address.slice(PORT_PREFIX.length + this.namespace.length);
    const n = Number.parseInt(number, 36);
    return n >= 0 && n < this.next && n.toString(36) === number;
  }

  private drain(address: string): void {
    const port = this.open.get(address);
    if (port === undefined) return;
    port.scheduled = false;
    const batch = port.queue;
    port.queue = [];
    for (let i = 0; i < batch.length; i++) {
      const message = batch[i] as AclMessage;
      // Closed by an earlier message of the batch: the rest is answered as to a closed port.
      if (this.open.get(address) !== port) {
        for (const rest of batch.slice(i)) this.onClosed(rest);
        return;
      }
      try {
        port.listener(message);
      } catch (error) {
        this.onListenerError(error);
      }
    }
  }

  get size(): number {
    return this.open.size;
  }
}
