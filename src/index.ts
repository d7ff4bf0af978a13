/** Troupe's public API. */
export { createSystem, System, UnexpectedReplyError, type RequestOptions, type SystemOptions, type TellOptions, type TellOutcome } from './system/system.js';
export { defineAgent, type AgentDefinition, type AgentOptions } from './agent/define-agent.js';
export { reply, tell, OUTBOUND, type OutboundEvent, type ReplyOptions, type Expr } from './agent/actions.js';
export { ask, askFromActor, type AskInput } from './agent/ask.js';
export { PERFORMATIVES, isPerformative, expectsReply, type Performative } from './acl/performatives.js';
export { createMessage, isAclMessage, type AclMessage, type MessageOptions } from './acl/message.js';
export { freezeContent } from './acl/content.js';
export type { ContentSchemas, ContentOf, InboundEvents } from './acl/content-schemas.js';
export type { MailboxOptions, OverflowPolicy } from './runtime/mailbox.js';
export type { SchedulerOptions } from './runtime/scheduler.js';
export type { AgentMetrics } from './runtime/agent-process.js';
export { StartError } from './runtime/agent-process.js';
export type { DeadLetter, DeadLetterReason } from './runtime/dead-letters.js';
export type { Terminated } from './runtime/watchers.js';
export type { SystemEvent, SystemEventType } from './runtime/system-events.js';
export { describeExit, isNormalExit } from './runtime/tree.js';
export type { ChildInfo, ChildSpec, DynamicChild, ExitReason, Heartbeat, NodeSpec, NodeStatus, Placement, RestartType, Shutdown } from './runtime/tree.js';
export type { WorkerPoolOptions } from './workers/pool.js';
export { AgentModuleError, WorkerBusyError, WorkerCrashError, WorkerProtocolError } from './workers/worker-errors.js';
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
export { parallel, parallelAsk, fanOut, type ParallelRequest, type ParallelOptions, type ParallelOutcome, type ParallelResult, type ParallelInput, type Settle, type Asker } from './protocols/parallel.js';
export { llmAgent, type LlmAgentOptions, type LlmAgentEvent } from '../actors/llm/llm-agent.js';
export { tool, agentTool, type Tool, type FunctionTool, type AgentTool, type ToolContext } from '../actors/llm/tools.js';
export { ModelCallError, type ModelFailureReason } from '../actors/llm/model-call.js';
export type { MemoryOptions } from '../actors/llm/memory.js';
export { createLimiter, Limiter, LimiterError, RetriesExhaustedError, type LimiterOptions, type LimiterMetrics, type LimitedCall } from '../actors/limiter/limiter.js';
export { retryAfterMs, type RetryOptions } from '../actors/limiter/retry-policy.js';
export { startOfflineModel, OfflineModelError, type OfflineModel, type OfflineModelOptions, type OfflineModelStats, type OfflineRequestEvent } from '../actors/offline-model/offline-model.js';
export { echoScript, lastText, toolResults, type OfflineScript, type OfflineRequest, type OfflineReply, type OfflineFault, type OfflineToolCall } from '../actors/offline-model/script.js';
export { InspectorError, type Inspector, type InspectorOptions } from './inspector/server.js';
export { PROTOCOL_VERSION, type ClientRequest, type InspectorEvent, type MessageSummary, type OverBudgetEvent, type ServerMessage, type TreeEntry } from './inspector/protocol.js';
export type { AgentSnapshot, StateChartNode } from './inspector/describe.js';
// Interaction protocols (contract net, directory, query, subscribe) and the conversation ports under them.
export { PORT_PREFIX, type Port, type PortListener } from './runtime/ports.js';
export type { ProtocolHost } from './agent/protocol-host.js';
export { systemEvents, type LifecycleEvent } from './protocols/lifecycle.js';
export { contractNetOntology, participantContent, CONTRACT_NET_PROTOCOL, RejectReason, type ContractNetOntology, type TaskOf, type ProposalOf, type ResultOf } from './protocols/contract-net-ontology.js';
export type { Bid, Decision, Fate, ParticipantOutcome, WinnerFailure, WinnerFailureKind, TaskResult, Refusal, OutOfSequence, ContractNetOutcome } from './protocols/contract-net-outcome.js';
export { ContractNetError } from './protocols/contract-net-ledger.js';
export { contractNetInitiator, initiatorFor, type ContractNetInput, type ContractNetCancel, type Participants, type ContractNetInitiatorMachine } from './protocols/contract-net-initiator.js';
export { contractNet, type ContractNetOptions } from './protocols/contract-net.js';
export { DIRECTORY_PATH, DIRECTORY_PROTOCOL, ServiceDescription, ServiceQuery, DirectoryEntry, DirectoryAnswer, DirectoryIfAnswer, DirectoryRequest } from './protocols/directory-protocol.js';
export { queryRef, queryIf, type QueryOptions } from './protocols/query.js';
export { subscribe, SubscriptionEndedError, type SubscribeOptions, type Subscription } from './protocols/subscribe.js';
export { contractor, refuse, Refusal as BidRefusal, TaskFailure, type ContractorOptions, type BidInfo, type PerformInfo } from '../actors/contract-net/contractor.js';
export { manager, type ManagerOptions } from '../actors/contract-net/manager.js';
export { directory, directoryChild } from '../actors/directory/directory.js';
