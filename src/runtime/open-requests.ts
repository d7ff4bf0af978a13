import { answerAddress, type AclMessage } from '../acl/message.js';

/**
 * The requests an agent incarnation has accepted and not answered yet, by where the answer
 * goes and its reply-with tag (two askers may well pick the same tag).
 * Most agents hold at most one at a time, so the first lives in a field and only a second
 * one brings in a Map: a Map emptied and refilled per message reallocates its table each
 * time, and that garbage showed up as a third of the young objects surviving in pingpong.
 */
export class OpenRequests {
  private first: AclMessage | undefined;
  private more: Map<string, AclMessage> | undefined;
  /**
   * Requests the runtime answered `failure` when an incarnation ended, remembered (the latest
   * MAX_REMEMBERED) when the next one resumes the old state: its machine may still hold them
   * and answer again, and an asker must get one answer only.
   */
  private answeredOnExit: Set<string> | undefined;

  /** Opens `message`, which must have a reply-with tag. */
  add(message: AclMessage): void {
    const first = this.first;
    if (first === undefined || (first.replyWith === message.replyWith && answerAddress(first) === answerAddress(message))) this.first = message;
    else (this.more ??= new Map()).set(keyOf(answerAddress(message), message.replyWith as string), message);
  }

  /** Closes the request whose answer goes to `address` with tag `tag`; false when none was open. */
  delete(address: string, tag: string): boolean {
    const first = this.first;
    if (first !== undefined && first.replyWith === tag && answerAddress(first) === address) {
      this.first = undefined;
      return true;
    }
    return this.more !== undefined && this.more.size > 0 && this.more.delete(keyOf(address, tag));
  }

  /** Whether the request whose answer goes to `address` with tag `tag` is open. */
  has(address: string, tag: string): boolean {
    const first = this.first;
    if (first !== undefined && first.replyWith === tag && answerAddress(first) === address) return true;
    return this.more !== undefined && this.more.has(keyOf(address, tag));
  }

  clear(): void {
    this.first = undefined;
    this.more = undefined;
  }

  /** Every open request, and none left open; `remember` keeps their keys for `wasAnsweredOnExit`. */
  takeAll(remember = false): AclMessage[] {
    const all = this.more === undefined ? [] : [...this.more.values()];
    if (this.first !== undefined) all.unshift(this.first);
    this.clear();
    if (remember) for (const message of all) this.rememberAnswered(keyOf(answerAddress(message), message.replyWith as string));
    return all;
  }

  /** True when the runtime already answered this request (address and tag) as an incarnation ended. */
  wasAnsweredOnExit(address: string, tag: string): boolean {
    return this.answeredOnExit !== undefined && this.answeredOnExit.has(keyOf(address, tag));
  }

  private rememberAnswered(key: string): void {
    const answered = (this.answeredOnExit ??= new Set());
    answered.add(key);
    if (answered.size > MAX_REMEMBERED) answered.delete(answered.values().next().value as string);
  }
}

const MAX_REMEMBERED = 1_000;

// The address's length first, so that no address and tag run into another pair's.
function keyOf(address: string, tag: string): string {
  return `${address.length}:${address}${tag}`;
}
