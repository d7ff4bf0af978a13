/** Troupe's public API. */
export { createSystem, System, UnexpectedReplyError, type RequestOptions, type SystemOptions, type TellOptions, type TellOutcome } from './runtime/system.js';
export { defineAgent, type AgentDefinition, type AgentOptions } from './agent/define-agent.js';
export { reply, tell, OUTBOUND, type OutboundEvent, type ReplyOptions, type Expr } from './agent/actions.js';
export { ask, type AskInput } from './agent/ask.js';
export { PERFORMATIVES, isPerformative, expectsReply, type Performative } from './acl/performatives.js';
export { createMessage, isAclMessage, type AclMessage, type MessageOptions } from './acl/message.js';
export { freezeContent } from './acl/content.js';
export type { ContentSchemas, ContentOf, InboundEvents } from './acl/content-schemas.js';
export type { MailboxOptions, OverflowPolicy } from './runtime/mailbox.js';
export type { SchedulerOptions } from './runtime/scheduler.js';
export type { AgentMetrics } from './runtime/agent-cell.js';
export { StartError } from './runtime/agent-cell.js';
export type { DeadLetter, DeadLetterReason } from './runtime/dead-letters.js';
export type { Terminated } from './runtime/runtime.js';
export type { SystemEvent, SystemEventType } from './runtime/system-events.js';
export { describeExit, isNormalExit } from './runtime/tree.js';
export type { ChildInfo, ChildSpec, DynamicChild, ExitReason, Heartbeat, NodeSpec, NodeStatus, Placement, RestartType, Shutdown } from './runtime/tree.js';
export type { WorkerPoolOptions } from './workers/pool.js';
export { AgentModuleError, WorkerCrashError } from './workers/worker-errors.js';
export {
  TroupeError,
  ConfigurationError,
  InvalidContentError,
  InvalidPathError,
  SystemStoppedError,
  ReplyError,
  RefusedError,
  FailureError,
  NotUnderstoodError,
  DeadlineError,
  type RuntimeReason,
} from './runtime/errors.js';
export { supervisor, SupervisorError, type SupervisorOptions, type Strategy, type AutoShutdown } from '../supervisors/supervisor.js';
export { SupervisorSpecError } from '../supervisors/child-spec.js';
export type { Intensity } from '../supervisors/restart-intensity.js';
export type { Backoff } from '../supervisors/backoff.js';
