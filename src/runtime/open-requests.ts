import type { AclMessage } from '../acl/message.js';

/**
 * The requests an agent incarnation has accepted and not answered yet, by reply-with tag.
 * Most agents hold at most one at a time, so the first lives in a field and only a second
 * one brings in a Map: a Map emptied and refilled per message reallocates its table each
 * time, and that garbage showed up as a third of the young objects surviving in pingpong.
 */
export class OpenRequests {
  private first: AclMessage | undefined;
  private more: Map<string, AclMessage> | undefined;

  add(tag: string, message: AclMessage): void {
    if (this.first === undefined || this.first.replyWith === tag) this.first = message;
    else (this.more ??= new Map()).set(tag, message);
  }

  delete(tag: string): void {
    if (this.first?.replyWith === tag) this.first = undefined;
    else if (this.more !== undefined && this.more.size > 0) this.more.delete(tag);
  }

  clear(): void {
    this.first = undefined;
    this.more = undefined;
  }

  /** Every open request, and none left open. */
  takeAll(): AclMessage[] {
    const all = this.more === undefined ? [] : [...this.more.values()];
    if (this.first !== undefined) all.unshift(this.first);
    this.clear();
    return all;
  }
}
