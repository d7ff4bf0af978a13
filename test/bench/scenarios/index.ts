/** Every scenario, in the order the table lists them. */
import type { Scenario } from '../scenario.js';
import { cpuFanout } from './cpu-fanout.js';
import { fanout } from './fanout.js';
import { heapPerAgent } from './heap-per-agent.js';
import { pingpong } from './pingpong.js';
import { restart } from './restart.js';
import { spawn } from './spawn.js';
import { throughput } from './throughput.js';

export const SCENARIOS: readonly Scenario[] = [pingpong, throughput, fanout, spawn, heapPerAgent, restart, cpuFanout];

export function findScenario(name: string): Scenario | undefined {
  return SCENARIOS.find((scenario) => scenario.name === name);
}
