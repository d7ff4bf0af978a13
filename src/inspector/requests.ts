/**
 * What the inspector does with each request, and who may ask it: anyone connected may ping,
 * read the tree and statecharts; a snapshot (an agent's memory) and control need the token,
 * given in the connection's handshake or in the request. A token given in a request is
 * checked through the guard, so guessing it this way is as slow as any other.
 */
import type { AclMessage } from '../acl/message.js';
import { expectsReply, type Performative } from '../acl/performatives.js';
import { ReplyError } from '../acl/reply-errors.js';
import type { Runtime } from '../runtime/runtime.js';
import type { ChildInfo } from '../runtime/tree.js';
import type { Connection } from './connection.js';
import { describeAgent, describeStatechart, describeTree, summarize } from './describe.js';
import { OutputBudget, toJsonSafe, type ViewRules } from './json-safe.js';
import type { CheckedOptions } from './options.js';
import { CONTROL_TYPES, type ClientRequest, type ErrorCode } from './protocol.js';
import type { TokenGuard } from './token-guard.js';

/** The parts of a System the inspector drives (System implements it). */
export interface InspectorHost {
  readonly name: string;
  terminateChild(path: string, id: string): Promise<void>;
  restartChild(path: string, id: string): Promise<ChildInfo>;
  whichChildren(path: string): ChildInfo[];
  suspend(path: string): boolean;
  resume(path: string): boolean;
  tell(path: string, performative: Performative, content?: unknown): Promise<'queued' | 'refused'>;
  request(path: string, content: unknown, options: { performative: Performative; timeoutMs: number }): Promise<AclMessage>;
}

/** A request that cannot be done, with the error code the client gets. */
export class RequestFailure extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

function parentAndId(path: string): { parent: string; id: string } {
  const cut = path.lastIndexOf('/');
  if (path === '/' || cut < 0) throw new RequestFailure('invalid-request', 'the root supervisor cannot be stopped or restarted from the inspector; stop the system instead');
  return { parent: cut === 0 ? '/' : path.slice(0, cut), id: path.slice(cut + 1) };
}

export class Requests {
  constructor(
    private readonly runtime: Runtime,
    private readonly host: InspectorHost,
    private readonly options: CheckedOptions,
    /** Undefined when the inspector has no token: snapshots and control are off. */
    private readonly guard: TokenGuard | undefined,
  ) {}

  /** What a view shows: the reply's budget, the secrets it redacts, and these fields besides. */
  rules(fields: readonly string[]): ViewRules {
    const options = this.options;
    return { fields: [...options.redact, ...fields], keys: options.secretKeys, values: options.secretValues, maxBytes: options.maxReplyBytes };
  }

  async answer(client: Connection, request: ClientRequest): Promise<unknown> {
    this.authorize(client, request);
    const runtime = this.runtime;
    switch (request.type) {
      case 'ping':
        return { pong: Date.now() };
      case 'tree':
        return describeTree(runtime, this.options.maxReplyBytes);
      case 'snapshot':
        return describeAgent(this.agentAt(request.path), this.rules(request.redact));
      case 'statechart':
        return describeStatechart(this.agentAt(request.path), this.options.maxReplyBytes);
      case 'stop': {
        const { parent, id } = parentAndId(request.path);
        if (runtime.lookup(request.path) === undefined) throw new RequestFailure('not-found', `nothing runs at ${request.path}`);
        await this.host.terminateChild(parent, id);
        return { stopped: request.path };
      }
      case 'restart': {
        const { parent, id } = parentAndId(request.path);
        if (runtime.lookup(request.path) !== undefined) await this.host.terminateChild(parent, id);
        if (!this.host.whichChildren(parent).some((child) => child.id === id)) {
          throw new RequestFailure('failed', `${request.path} is a temporary child (or no child of ${parent}): OTP never restarts a temporary child, and stopping it dropped its spec; it is stopped`);
        }
        const info = await this.host.restartChild(parent, id);
        return { restarted: request.path, incarnation: info.incarnation ?? null };
      }
      case 'suspend':
        this.suspendableAt(request.path);
        return { path: request.path, changed: this.host.suspend(request.path) };
      case 'resume':
        this.suspendableAt(request.path);
        return { path: request.path, changed: this.host.resume(request.path) };
      case 'send':
        return this.send(request);
    }
  }

  /** Snapshots and control need the token: from the handshake, or this request's own (checked through the guard). */
  private authorize(client: Connection, request: ClientRequest): void {
    const control = CONTROL_TYPES.has(request.type);
    if (!control && request.type !== 'snapshot') return;
    if (this.guard === undefined) {
      throw new RequestFailure(
        'control-disabled',
        control
          ? 'control is off: start the inspector with a token (inspector: { token }) to stop, restart, suspend, resume or send'
          : "this inspector has no token, so agents' memory is not shown: start it with one (inspector: { token }) to see snapshots",
      );
    }
    if (client.authenticated) return;
    const token = 'token' in request ? request.token : undefined;
    const unchanged = control ? 'nothing was changed' : 'nothing was shown';
    if (token === undefined) throw new RequestFailure('unauthorized', `${request.type} needs the inspector token: none was given (connect with it, or add "token" to the request); ${unchanged}`);
    const check = this.guard.check(token, client.address);
    if (check.outcome === 'wait') throw new RequestFailure('rate-limited', `too many wrong tokens from ${client.address}: this one was not checked; try again in ${check.waitMs} ms`);
    if (check.outcome === 'wrong') throw new RequestFailure('unauthorized', `${request.type} needs the inspector token: the token given is wrong; ${unchanged}`);
  }

  private agentAt(path: string): NonNullable<ReturnType<Runtime['agentAt']>> {
    const cell = this.runtime.agentAt(path);
    if (cell === undefined) throw new RequestFailure('not-found', `no agent at ${path}`);
    return cell;
  }

  private suspendableAt(path: string): NonNullable<ReturnType<Runtime['agentAt']>> {
    const cell = this.agentAt(path);
    const { where, placement, suspension } = cell.executor;
    if (suspension === undefined) throw new RequestFailure('failed', `${path} runs on ${where} (placement '${placement}'); suspend and resume apply to inline agents only`);
    return cell;
  }


  private async send(request: Extract<ClientRequest, { type: 'send' }>): Promise<unknown> {
    if (!expectsReply(request.performative)) {
      return { outcome: await this.host.tell(request.path, request.performative, request.content) };
    }
    let reply: AclMessage;
    try {
      reply = await this.host.request(request.path, request.content, { performative: request.performative, timeoutMs: request.timeoutMs });
    } catch (error) {
      if (!(error instanceof ReplyError)) throw error;
      reply = error.reply;
    }
    // The answer's content is shown as a snapshot's memory is: within the budget, secrets redacted.
    const budget = OutputBudget.forReply(this.options.maxReplyBytes);
    return { outcome: 'answered', answer: { ...summarize(reply), content: toJsonSafe(reply.content, budget, this.rules([])) } };
  }
}
