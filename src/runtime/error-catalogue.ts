/**
 * Every error code Troupe throws and every reason its answers carry, in one place: the class
 * (or the answer) each belongs to, what it means and what to do about it. The code unions the
 * error classes take are derived from it, so a code that is not here does not compile, and the
 * README's error tables are generated from it (`npm run docs:errors`; a test fails when they
 * drift). This module imports nothing: it is data, readable by the kernel and by the docs alike.
 */

/** What one code means and what to do about it. */
export interface CodeEntry {
  readonly means: string;
  readonly remedy: string;
}

/** One error class: the class it extends, what it carries, and the codes it is thrown with. */
export interface ClassEntry {
  /** Its superclass in this catalogue; null for TroupeError itself. */
  readonly extends: string | null;
  /** What the class stands for and the fields it carries besides `code` and `message`. */
  readonly about: string;
  readonly codes: Readonly<Record<string, CodeEntry>>;
}

/** Who answers with a reason: the runtime itself, or one of the ready-made agents and protocols. */
export type ReasonSource = 'runtime' | 'llm-agent' | 'contract-net';

/** A reason carried in the content `{ reason, detail }` of a `failure` or `not-understood` answer. */
export interface ReasonEntry extends CodeEntry {
  readonly answer: 'failure' | 'not-understood';
  readonly from: readonly ReasonSource[];
}

/** The LLM agent's failure reasons that are also the codes of ModelCallError (the error is answered as it is). */
const MODEL_FAILURES = {
  'model-deadline': {
    answer: 'failure',
    from: ['llm-agent'],
    means: "the model call (queue wait, attempts and retry waits together) outlived the agent's `deadlineMs`",
    remedy: "raise the LLM agent's `deadlineMs`, or check the provider's latency and the limiter's queue",
  },
  'model-error': {
    answer: 'failure',
    from: ['llm-agent'],
    means: 'the provider answered with an HTTP error, the network failed, every retry failed, or the next retry could not start before the deadline',
    remedy: "read `detail` (and the error's `cause`); check the provider, the API key and the limiter's `retry` options",
  },
  'malformed-output': {
    answer: 'failure',
    from: ['llm-agent'],
    means: "the model's answer is not a chat completion, or its structured output is not JSON, does not match `output`, or is not plain data",
    remedy: 'tighten the instructions or the `output` schema; check that the endpoint speaks the chat completions API',
  },
  'too-many-tool-rounds': {
    answer: 'failure',
    from: ['llm-agent'],
    means: 'the model asked for tools again after `maxToolRounds` rounds of tool calls',
    remedy: 'raise `maxToolRounds`, or change the instructions so the model answers sooner',
  },
  'rate-limited': {
    answer: 'failure',
    from: ['llm-agent'],
    means: "a 429 paused the shared limiter past the call's deadline, so the call was never sent",
    remedy: 'wait until the limiter resumes (the detail says when), give the call a later deadline, or lower the request rate',
  },
} as const satisfies Readonly<Record<string, ReasonEntry>>;

/** Every error class Troupe exports, in the order the README lists them. */
export const ERROR_CLASSES = {
  TroupeError: {
    extends: null,
    about: 'the base of every error Troupe throws; `code` is stable and safe to switch on',
    codes: {},
  },
  ReplyError: {
    extends: 'TroupeError',
    about: 'a request answered with something other than a positive answer: `.reply` is that answer, `.reason` its `content.reason` when that is a string (see the reasons below)',
    codes: {},
  },
  RefusedError: {
    extends: 'ReplyError',
    about: 'the answer was `refuse`',
    codes: {
      refused: { means: 'the receiver answered `refuse`: it understood the request and will not do it', remedy: 'read `.reason` and `.reply.content`; ask another agent or change the request' },
    },
  },
  FailureError: {
    extends: 'ReplyError',
    about: 'the answer was `failure`',
    codes: {
      failure: { means: 'the receiver (or the runtime on its behalf) answered `failure`: it tried and could not', remedy: 'switch on `.reason` (the reasons below); retry, or let the failure reach your supervisor' },
    },
  },
  NotUnderstoodError: {
    extends: 'ReplyError',
    about: 'the answer was `not-understood`',
    codes: {
      'not-understood': { means: 'the receiver could not take the message: a performative it does not handle now, or content that fails its schema', remedy: "switch on `.reason`; check the performative and the content against the receiver's `content` schemas" },
    },
  },
  DeadlineError: {
    extends: 'TroupeError',
    about: 'no answer in time; `.receiver`, `.conversationId`, `.timeoutMs`',
    codes: {
      deadline: { means: 'no answer came within `timeoutMs` (default 5 s), or the receiver answered `failure` with reason `deadline`', remedy: 'raise `timeoutMs`, or check that the receiver answers every request it takes' },
    },
  },
  UnexpectedReplyError: {
    extends: 'TroupeError',
    about: 'a positive answer whose content does not match `expect`; `.reply` is the answer',
    codes: {
      'unexpected-reply': { means: "the answer's content did not match the `expect` schema of the request (the message lists the zod issues)", remedy: 'fix the answering agent, or the `expect` schema' },
    },
  },
  SystemStoppedError: {
    extends: 'TroupeError',
    about: 'a call on a stopped system',
    codes: {
      'system-stopped': { means: 'the system is stopped (or stopping) and cannot take this call', remedy: 'create a new system to go on' },
    },
  },
  InvalidContentError: {
    extends: 'TroupeError',
    about: 'content that is not plain data',
    codes: {
      'invalid-content': { means: 'message content is not plain data: a Map, a Date, a function, a class instance or a cycle', remedy: 'send plain objects, arrays, strings, numbers, booleans and null (dates as ISO strings or epoch ms)' },
    },
  },
  InvalidPathError: {
    extends: 'TroupeError',
    about: 'a malformed path',
    codes: {
      'invalid-path': { means: 'a path is not `/a/b` with non-empty segments of `[A-Za-z0-9_.-]` (and not `.` or `..`)', remedy: 'fix the path the message quotes' },
    },
  },
  ConfigurationError: {
    extends: 'TroupeError',
    about: 'a bad option or call',
    codes: {
      'invalid-agent': { means: 'a `defineAgent`, `llmAgent`, `contractor` or `manager` option is wrong', remedy: 'fix the option the message names' },
      'invalid-mailbox': { means: '`mailbox.capacity` is not a whole number ≥ 1 or Infinity, or `mailbox.overflow` is not a known policy', remedy: 'fix the mailbox option the message names' },
      'invalid-root': { means: '`createSystem` was given no `root`, or one not made by `supervisor()`', remedy: 'pass `{ root: supervisor({...}) }`' },
      'invalid-scheduler': { means: 'a `scheduler` option is not a whole number ≥ 1', remedy: 'fix the scheduler option the message names' },
      'invalid-dead-letters': { means: '`keepDeadLetters` is not a whole number ≥ 0', remedy: 'fix `keepDeadLetters`' },
      'invalid-workers': { means: '`workers.size` is not a whole number ≥ 1', remedy: 'fix `workers.size`' },
      'unknown-placement': { means: 'an agent was placed on a placement no module registered (`placement: \'worker\'` with Troupe not loaded from its entry point)', remedy: "import Troupe from 'troupe', which registers the worker placement, or use `inline`" },
      'invalid-performative': { means: "a send used a performative that is not one of FIPA's 22", remedy: 'use one of `PERFORMATIVES`' },
      'invalid-timeout': { means: '`timeoutMs` is not a positive number of milliseconds (or Infinity)', remedy: 'pass a positive `timeoutMs`' },
      'invalid-receiver': { means: '`tell` from an agent was given no receiver path', remedy: 'give `tell` a `to` path' },
      'invalid-message-option': { means: 'a FIPA parameter of a send is of the wrong kind: not a string, a `replyTo` that is not an address, a `replyBy` that is not epoch ms', remedy: 'fix the message option the message names' },
      'path-taken': { means: 'a node was started at a path another running node holds', remedy: 'give the child another id, or stop the one running there first' },
      'not-a-supervisor': { means: 'a supervision call (`startChild`, `whichChildren`, ...) was given a path that is not a supervisor', remedy: 'pass the path of a supervisor' },
      'not-a-running-agent': { means: '`suspend` or `resume` was given a path that is not a running inline agent', remedy: 'pass the path of a running agent placed inline' },
      'no-runtime': { means: '`ask` or protocol logic ran outside a Troupe agent (in a plain XState test, say)', remedy: 'run it inside an agent, use the call form (`contractNet(system, ...)`), or provide a stand-in with `machine.provide`' },
      'already-started': { means: 'the system already has its root, or already has an inspector', remedy: 'start the root once (`createSystem` does); close the inspector before starting another' },
      'invalid-ontology': { means: '`contractNetOntology` was given no name or a part that is not a zod schema', remedy: 'pass `{ name, task, proposal, result }` with zod schemas' },
      'invalid-contract-net': { means: 'a contract net was started without an ontology, or with inputs that cannot work (no participants, a task not matching the ontology, ...)', remedy: 'fix the input the message names' },
      'invalid-subscription': { means: '`subscribe` was given no `onInform`', remedy: 'pass `{ onInform(content) }`' },
      'invalid-parallel': { means: '`parallel` was given requests that are not `{ to, content? }`, or a bad `deadlineMs`, `settle` or `quorum`', remedy: 'fix the option the message names' },
      'invalid-tool': { means: 'a `tool()` or `agentTool()` option is wrong: its name, `parameters`, `run`, `path` or `timeoutMs`', remedy: 'fix the option the message names' },
    },
  },
  InspectorError: {
    extends: 'ConfigurationError',
    about: 'the inspector could not be started; `createSystem` rejects and nothing is left running',
    codes: {
      'invalid-inspector': { means: 'an `inspector` option is wrong (port, host, token, limits)', remedy: 'fix the option the message names' },
      'inspector-listen': { means: "the inspector's port could not be opened (in use, or not allowed)", remedy: 'choose another port, or 0 for any free one' },
    },
  },
  StartError: {
    extends: 'TroupeError',
    about: "an agent's machine threw while starting; `.path`, `cause`",
    codes: {
      'start-failed': { means: "an agent's machine threw while starting (its initial state, entry actions or context)", remedy: 'read `cause`; fix the machine or its `input`' },
    },
  },
  SupervisorSpecError: {
    extends: 'TroupeError',
    about: 'a supervisor or child spec that cannot work',
    codes: {
      'invalid-supervisor': { means: '`supervisor()` was given no options object', remedy: 'pass `supervisor({ children: [...] })`' },
      'invalid-strategy': { means: '`strategy` is not `one-for-one`, `one-for-all` or `rest-for-one`', remedy: 'pick one of the three' },
      'invalid-auto-shutdown': { means: '`autoShutdown` is not `never`, `any-significant` or `all-significant`', remedy: 'pick one of the three' },
      'invalid-intensity': { means: '`intensity.maxRestarts` is not a whole number ≥ 0', remedy: 'fix `intensity.maxRestarts`' },
      'invalid-period': { means: '`intensity.withinMs` is not a whole number ≥ 1', remedy: 'fix `intensity.withinMs`' },
      'invalid-backoff': { means: '`backoff` does not have 0 ≤ minMs ≤ maxMs, factor ≥ 1 and 0 ≤ jitter ≤ 1', remedy: 'fix `backoff`' },
      'invalid-children': { means: '`children` is not an array of child specs', remedy: 'pass an array' },
      'invalid-child-spec': { means: 'a child spec is not an object', remedy: 'pass `{ id, agent, restart?, shutdownMs?, significant? }`' },
      'invalid-child': { means: "a child's `agent` is not from `defineAgent()` or `supervisor()`, a supervisor child has agent-only options, or `startChild` without `agent` on a supervisor with no template", remedy: 'fix the child spec the message names' },
      'missing-id': { means: 'a child spec has no non-empty string `id`', remedy: 'give every child an `id`' },
      'invalid-id': { means: 'a child id uses characters other than letters, digits, `_`, `.` and `-`, or is `.` or `..`', remedy: 'rename the child' },
      'duplicate-child-id': { means: 'two children of one supervisor have the same id', remedy: 'give each child its own id' },
      'invalid-restart-type': { means: '`restart` is not `permanent`, `transient` or `temporary`', remedy: 'pick one of the three' },
      'invalid-shutdown': { means: '`shutdownMs` is not a whole number ≥ 0, `brutal` or `infinity`', remedy: 'fix `shutdownMs`' },
      'invalid-significant': { means: '`significant` is not a boolean, or is set on a `permanent` child (OTP forbids it)', remedy: 'make significant children transient or temporary' },
      'invalid-on-restart': { means: '`onRestart` is not `reset` or `resume`', remedy: 'pick one of the two' },
      'invalid-heartbeat': { means: '`heartbeat` does not have whole numbers `everyMs` ≥ 1 and `timeoutMs` ≥ 1', remedy: 'fix `heartbeat`' },
      'invalid-placement': { means: '`placement` is not `inline` or `worker`, is set on a supervisor, or `worker` for an agent defined without `module`', remedy: 'define worker agents with `module: import.meta.url` and export them by name' },
    },
  },
  SupervisorError: {
    extends: 'TroupeError',
    about: 'a supervision call OTP would answer with an error tuple',
    codes: {
      'already-started': { means: '`startChild` for an id whose child is running', remedy: 'use another id, or leave the running child be' },
      'already-present': { means: '`startChild` for an id whose child exists but is stopped', remedy: '`restartChild` or `deleteChild` it' },
      'not-found': { means: 'the supervisor has no child with that id', remedy: 'check the id (`whichChildren` lists them)' },
      'supervisor-stopped': { means: 'the supervisor is stopped or stopping (or was replaced meanwhile)', remedy: 'call the supervisor that runs there now' },
      running: { means: '`restartChild` or `deleteChild` of a running child', remedy: '`terminateChild` it first' },
      restarting: { means: '`restartChild` or `deleteChild` of a child being restarted', remedy: '`terminateChild` it first' },
    },
  },
  AgentModuleError: {
    extends: 'TroupeError',
    about: "a worker agent whose definition cannot be loaded on its thread (the agent's start fails)",
    codes: {
      'agent-module': { means: 'the module of an agent placed on a worker thread cannot be imported there, does not export its definition by name, or needs tsx that is missing', remedy: 'define it with `module: import.meta.url`, export it by name, and install tsx 4 to run TypeScript on workers' },
    },
  },
  WorkerCrashError: {
    extends: 'TroupeError',
    about: 'a worker thread died; `.threadId`',
    codes: {
      'worker-crashed': { means: 'the exit reason (`crash`) of an agent whose worker thread died, or was terminated because another agent on it hung', remedy: 'read the message and `cause`; the supervisor restarts the agent on a new thread' },
    },
  },
  WorkerProtocolError: {
    extends: 'TroupeError',
    about: 'the `cause` of a `WorkerCrashError` when a thread sent the main thread something the worker protocol does not allow; `.threadId`, `.detail`',
    codes: {
      'worker-protocol': { means: 'a worker thread broke the protocol (a malformed message, or one speaking for an agent it does not host): it was terminated and its agents restarted', remedy: 'look for agent code that posts to `parentPort` itself; Troupe owns that port' },
    },
  },
  WorkerBusyError: {
    extends: 'TroupeError',
    about: 'a worker thread did not answer a query in time; `.threadId`',
    codes: {
      'worker-busy': { means: 'an inspector query about a worker agent that its thread did not answer within 5 s (busy in a long handler, or stuck)', remedy: "ask again later; a thread stuck for good is found by the agent's heartbeat" },
    },
  },
  ContractNetError: {
    extends: 'TroupeError',
    about: 'a contract net that could not be carried through (the outcome says which participants had what)',
    codes: {
      'invalid-decision': { means: 'the evaluation returned something other than the accepted bids, `{ accept, reserve? }` or `{ nextRound: { task } }`, or named bids that were not proposed', remedy: "fix `evaluate` to choose among the round's proposals" },
      'evaluation-failed': { means: 'the evaluation threw (`cause`)', remedy: 'fix `evaluate`' },
      'too-many-rounds': { means: 'the evaluation asked for a round past `maxRounds`', remedy: 'raise `maxRounds`, or decide sooner' },
      'discovery-failed': { means: 'the directory did not answer in time, did not list the service, or listed something that is not an agent path', remedy: 'check that the directory runs and the contractors register the service' },
    },
  },
  SubscriptionEndedError: {
    extends: 'TroupeError',
    about: "given to `subscribe`'s `onError`",
    codes: {
      'subscription-ended': { means: 'the publisher crashed, restarted or stopped, and what it knew of the subscription went with it', remedy: 'subscribe again once the publisher is back' },
    },
  },
  LimiterError: {
    extends: 'TroupeError',
    about: "the limiter's errors",
    codes: {
      'invalid-limiter': { means: 'a `createLimiter` option (or its `retry`) is wrong', remedy: 'fix the option the message names' },
    },
  },
  RetriesExhaustedError: {
    extends: 'LimiterError',
    about: 'every retry of a call failed; `.attempts`, `.outOfTime`, `cause` (the last error)',
    codes: {
      'retries-exhausted': { means: 'every retry of a model call failed, or the next one could not start before the deadline (`.outOfTime`)', remedy: 'raise `retry.maxRetries` or the deadline, or check the provider' },
    },
  },
  RateLimitedError: {
    extends: 'LimiterError',
    about: "a 429's pause lasts past the call's deadline, so the call was not sent; `.resumesAt`, `.deadlineAt`, `cause` (the 429)",
    codes: {
      'rate-limited': { means: "the shared limiter is paused by a 429 until after this call's deadline", remedy: 'retry after `resumesAt`, or give the call a later deadline' },
    },
  },
  ModelCallError: {
    extends: 'TroupeError',
    about: 'a model call that failed; `.reason` is its code, which an LLM agent answers as `failure` `{ reason, detail }`',
    codes: MODEL_FAILURES,
  },
  OfflineModelError: {
    extends: 'TroupeError',
    about: "the offline model's errors",
    codes: {
      'offline-model': { means: 'a bad offline model option (`latencyMs`), or its port could not be opened', remedy: 'fix the option, or choose another port (0 for any free one)' },
    },
  },
} as const satisfies Readonly<Record<string, ClassEntry>>;

/** The reasons in the `{ reason, detail }` content of the answers Troupe itself sends. */
export const ANSWER_REASONS = {
  'no-such-agent': { answer: 'failure', from: ['runtime'], means: "nothing lives at the receiver's path (never started, stopped for good, or a conversation port since closed)", remedy: 'check the path; wait for the agent to be started' },
  'not-an-agent': { answer: 'failure', from: ['runtime'], means: "the receiver's path is a supervisor, which takes no messages", remedy: 'send to one of its agents' },
  'backpressure-full': { answer: 'failure', from: ['runtime'], means: "the receiver's `backpressure` mailbox is full and so is its queue of waiting senders (`maxWaiting`)", remedy: 'await the sends already waiting before sending more, or raise `capacity` / `maxWaiting`' },
  'mailbox-full': { answer: 'failure', from: ['runtime', 'llm-agent'], means: "the receiver's mailbox (an LLM agent's task queue) is at capacity", remedy: 'try again later, raise `mailbox.capacity`, or send less' },
  'agent-failed': { answer: 'failure', from: ['runtime'], means: 'the receiver crashed while the request was open (or on the message itself)', remedy: 'its supervisor restarts it; retry once it is back' },
  hung: { answer: 'failure', from: ['runtime'], means: 'the receiver was found hung by its heartbeat while the request was open', remedy: 'its supervisor restarts it; retry, and look for the handler that blocks' },
  'agent-restarting': { answer: 'failure', from: ['runtime'], means: 'the receiver was restarted while the request was open', remedy: 'retry once it is back' },
  'agent-stopping': { answer: 'failure', from: ['runtime', 'llm-agent'], means: 'the receiver is being stopped for good and takes no new work (it finishes only what it had under way)', remedy: 'send to an agent that runs, or after the system restarts it' },
  'agent-stopped': { answer: 'failure', from: ['runtime'], means: 'the receiver stopped before it answered (or before it handled the message)', remedy: 'send to an agent that runs' },
  'stale-incarnation': { answer: 'failure', from: ['runtime'], means: 'the message was pinned to an incarnation of the receiver that has since restarted', remedy: 'send again to the new incarnation (leave the incarnation out)' },
  deadline: { answer: 'failure', from: ['runtime', 'llm-agent'], means: "the message's `replyBy` passed before the receiver could handle it; `request` and `ask` turn it into DeadlineError", remedy: 'give a later `replyBy`, or a less busy receiver' },
  'system-stopped': { answer: 'failure', from: ['runtime'], means: 'the system stopped before the message was delivered', remedy: 'create a new system to go on' },
  'unhandled-performative': { answer: 'not-understood', from: ['runtime'], means: "the receiver's machine has no transition (whose guard allows it) for this performative in its current state", remedy: 'send what the receiver handles in that state, or add the transition' },
  'invalid-content': { answer: 'not-understood', from: ['runtime', 'contract-net'], means: "the content does not match the receiver's schema for the performative (or the contract net's ontology)", remedy: 'read `detail` (the zod issues) and fix the content' },
  'conversation-ended': { answer: 'not-understood', from: ['runtime'], means: 'an answer came for a conversation that has ended (its asker gave up or was answered)', remedy: "answer within the asker's deadline, once" },
  'out-of-sequence': { answer: 'not-understood', from: ['contract-net'], means: "a contract-net message that does not fit the conversation's state (another initiator's cfp, a result never awarded, ...)", remedy: "follow the protocol's order; nothing in the conversation changed" },
  ...MODEL_FAILURES,
  'model-refused': { answer: 'failure', from: ['llm-agent'], means: 'the model refused the task (its `refusal`)', remedy: 'change the task or the instructions' },
  'tool-error': { answer: 'failure', from: ['llm-agent'], means: "a round of tool calls failed as a whole (a tool's own error or timeout is not this: it goes back to the model as that tool's result)", remedy: 'read `detail`' },
  cancelled: { answer: 'failure', from: ['llm-agent'], means: 'the asker cancelled the task; its model call and tools were aborted', remedy: 'nothing: it is what the asker wanted' },
  'no-such-task': { answer: 'failure', from: ['llm-agent'], means: 'a `cancel` named no task of that sender in that conversation', remedy: 'cancel with the conversation id of the task' },
} as const satisfies Readonly<Record<string, ReasonEntry>>;

type Classes = typeof ERROR_CLASSES;
type Reasons = typeof ANSWER_REASONS;

export type ErrorClassName = keyof Classes;

/** The codes class `C` itself is thrown with (a union of classes gives all their codes). */
export type CodeOf<C extends ErrorClassName> = C extends ErrorClassName ? keyof Classes[C]['codes'] & string : never;

type SubclassesOf<C extends ErrorClassName> = { [K in ErrorClassName]: Classes[K]['extends'] extends C ? K : never }[ErrorClassName];

/** The codes of class `C` and of every class under it: what its constructor takes when subclasses pass theirs up. */
export type CodeUnder<C extends ErrorClassName> = CodeOf<C> | ([SubclassesOf<C>] extends [never] ? never : CodeUnder<SubclassesOf<C>>);

/** Every code a TroupeError may have. */
export type TroupeErrorCode = CodeOf<ErrorClassName>;

export type AnswerReason = keyof Reasons;

/** The reasons `from` sends. */
export type ReasonFrom<S extends ReasonSource> = { [R in AnswerReason]: S extends Reasons[R]['from'][number] ? R : never }[AnswerReason];

/** The reasons the runtime itself answers with. */
export type RuntimeReasonCode = ReasonFrom<'runtime'>;
