/** Every scenario, in the order the table lists them. */
import type { Scenario } from '../scenario.js';
import { contractNetRound } from './contract-net.js';
import { cpuFanout } from './cpu-fanout.js';
import { fanout } from './fanout.js';
import { heapPerAgent } from './heap-per-agent.js';
import { ioFanout, ioFanoutLimited } from './io-fanout.js';
import { inspector } from './inspector.js';
import { pingpong } from './pingpong.js';
import { restart } from './restart.js';
import { spawn } from './spawn.js';
import { throughput } from './throughput.js';
import { workerStart } from './worker-start.js';

export const SCENARIOS: readonly Scenario[] = [pingpong, throughput, fanout, spawn, heapPerAgent, restart, ioFanout, ioFanoutLimited, contractNetRound, inspector, cpuFanout, workerStart];

export function findScenario(name: string): Scenario | undefined {
  return SCENARIOS.find((scenario) => scenario.name === name);
}
