import { workerNeedsModule, type AgentDefinition } from '../src/agent/define-agent.js';
import type { CodeOf } from '../src/runtime/error-catalogue.js';
import { TroupeError } from '../src/runtime/errors.js';
import { isPathSegment } from '../src/runtime/path.js';
import type { ChildSpec, Heartbeat, NodeSpec, Placement, RestartType, Shutdown } from '../src/runtime/tree.js';

export type { ChildSpec, RestartType };

/** What every child spec carries once checked, agent or supervisor. */
interface ResolvedSpec {
  readonly id: string;
  readonly restart: RestartType;
  readonly shutdownMs: Shutdown;
  readonly significant: boolean;
}

/** An agent child: the kernel runs it as an AgentNode. */
export interface ResolvedAgentSpec extends ResolvedSpec {
  readonly kind: 'agent';
  readonly agent: AgentDefinition;
  readonly heartbeat: Heartbeat | undefined;
  readonly onRestart: 'reset' | 'resume';
  readonly input: unknown;
  readonly placement: Placement;
}

/** A nested supervisor: each start makes a new node from the spec. */
export interface ResolvedSupervisorSpec extends ResolvedSpec {
  readonly kind: 'supervisor';
  readonly agent: NodeSpec;
}

export type ResolvedChildSpec = ResolvedAgentSpec | ResolvedSupervisorSpec;

/** A child or supervisor spec that cannot work; `code` names what is wrong. */
export class SupervisorSpecError extends TroupeError {
  declare readonly code: CodeOf<'SupervisorSpecError'>;

  constructor(code: CodeOf<'SupervisorSpecError'>, message: string) {
    super(code, message);
  }
}

const RESTART_TYPES: ReadonlySet<string> = new Set(['permanent', 'transient', 'temporary']);

export function isSupervisorSpec(value: unknown): value is NodeSpec {
  return typeof value === 'object' && value !== null && (value as NodeSpec).kind === 'supervisor' && typeof (value as NodeSpec).start === 'function';
}

function isAgentDefinition(value: unknown): value is AgentDefinition {
  return typeof value === 'object' && value !== null && (value as AgentDefinition).kind === 'agent';
}

export function isValidShutdown(value: unknown): value is Shutdown {
  return value === 'brutal' || value === 'infinity' || (typeof value === 'number' && Number.isInteger(value) && value >= 0);
}

/** Checks one child spec and fills in OTP's defaults. */
export function resolveChildSpec(spec: ChildSpec): ResolvedChildSpec {
  if (typeof spec !== 'object' || spec === null) throw new SupervisorSpecError('invalid-child-spec', 'a child spec must be an object { id, agent, restart?, shutdownMs?, significant? }');
  if (typeof spec.id !== 'string' || spec.id.length === 0) throw new SupervisorSpecError('missing-id', 'a child spec needs a non-empty string `id`');
  if (!isPathSegment(spec.id)) throw new SupervisorSpecError('invalid-id', `child id ${JSON.stringify(spec.id)} may use only letters, digits, "_", "." or "-", and may not be "." or ".."`);
  const isSupervisor = isSupervisorSpec(spec.agent);
  if (!isSupervisor && !isAgentDefinition(spec.agent)) {
    throw new SupervisorSpecError('invalid-child', `child ${spec.id}: \`agent\` must come from defineAgent() or supervisor()`);
  }
  const restart = spec.restart ?? 'permanent';
  if (!RESTART_TYPES.has(restart)) throw new SupervisorSpecError('invalid-restart-type', `child ${spec.id}: restart must be permanent, transient or temporary, got ${String(restart)}`);
  const shutdownMs = spec.shutdownMs ?? (isSupervisor ? 'infinity' : 5_000);
  if (!isValidShutdown(shutdownMs)) throw new SupervisorSpecError('invalid-shutdown', `child ${spec.id}: shutdownMs must be a whole number ≥ 0, 'brutal' or 'infinity', got ${String(shutdownMs)}`);
  const significant = spec.significant ?? false;
  if (typeof significant !== 'boolean') throw new SupervisorSpecError('invalid-significant', `child ${spec.id}: significant must be a boolean`);
  if (significant && restart === 'permanent') {
    throw new SupervisorSpecError('invalid-significant', `child ${spec.id}: a significant child must be transient or temporary (as in OTP)`);
  }
  const onRestart = spec.onRestart ?? 'reset';
  if (onRestart !== 'reset' && onRestart !== 'resume') throw new SupervisorSpecError('invalid-on-restart', `child ${spec.id}: onRestart must be 'reset' or 'resume', got ${String(onRestart)}`);
  const heartbeat = resolveHeartbeat(spec.id, spec.heartbeat ?? (isSupervisor ? undefined : (spec.agent as AgentDefinition).heartbeat));
  if (isSupervisor && (spec.heartbeat !== undefined || spec.onRestart !== undefined || spec.input !== undefined)) {
    throw new SupervisorSpecError('invalid-child', `child ${spec.id}: heartbeat, onRestart and input apply to agents, not supervisors`);
  }
  const placement = resolvePlacement(spec, isSupervisor);
  if (isSupervisor) return { kind: 'supervisor', id: spec.id, agent: spec.agent, restart, shutdownMs, significant };
  return { kind: 'agent', id: spec.id, agent: spec.agent, restart, shutdownMs, significant, heartbeat, onRestart, input: spec.input, placement };
}

function resolvePlacement(spec: ChildSpec, isSupervisor: boolean): Placement {
  if (isSupervisor) {
    if (spec.placement !== undefined) throw new SupervisorSpecError('invalid-placement', `child ${spec.id}: placement applies to agents; a supervisor runs on the main thread and its children choose their own`);
    return 'inline';
  }
  const definition = spec.agent as AgentDefinition;
  const placement = spec.placement ?? definition.placement ?? 'inline';
  if (placement !== 'inline' && placement !== 'worker') throw new SupervisorSpecError('invalid-placement', `child ${spec.id}: placement must be 'inline' or 'worker', got ${String(placement)}`);
  if (placement === 'worker' && definition.module === undefined) throw new SupervisorSpecError('invalid-placement', `child ${spec.id}: ${workerNeedsModule(definition.name)}`);
  return placement;
}

function resolveHeartbeat(id: string, heartbeat: Heartbeat | undefined): Heartbeat | undefined {
  if (heartbeat === undefined) return undefined;
  const { everyMs, timeoutMs } = heartbeat;
  if (!(Number.isInteger(everyMs) && everyMs >= 1 && Number.isInteger(timeoutMs) && timeoutMs >= 1)) {
    throw new SupervisorSpecError('invalid-heartbeat', `child ${id}: heartbeat needs whole numbers everyMs ≥ 1 and timeoutMs ≥ 1, got ${JSON.stringify(heartbeat)}`);
  }
  return { everyMs, timeoutMs };
}

/** Checks a list of child specs: each valid, ids unique. */
export function resolveChildSpecs(specs: readonly ChildSpec[]): ResolvedChildSpec[] {
  if (!Array.isArray(specs)) throw new SupervisorSpecError('invalid-children', '`children` must be an array of child specs');
  const seen = new Set<string>();
  return specs.map((spec) => {
    const resolved = resolveChildSpec(spec);
    if (seen.has(resolved.id)) throw new SupervisorSpecError('duplicate-child-id', `two children have the id ${JSON.stringify(resolved.id)}`);
    seen.add(resolved.id);
    return resolved;
  });
}
