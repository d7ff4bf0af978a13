import { createActor } from 'xstate';
import { stopChild } from '../runtime/xstate-adapter.js';
import { ConfigurationError } from '../runtime/errors.js';
import { abortReason } from '../runtime/pending-asks.js';
import type { System } from '../system/system.js';
import { initiatorFor, type ContractNetInitiatorMachine, type ContractNetInput } from './contract-net-initiator.js';
import type { ContractNetOntology } from './contract-net-ontology.js';
import type { ContractNetOutcome } from './contract-net-outcome.js';

export interface ContractNetOptions<T, P, R> extends Omit<ContractNetInput<T, P>, 'host'> {
  readonly ontology: ContractNetOntology<T, P, R>;
  /** Aborting cancels the contract net; the promise still resolves, with `cancelled: true` (rejects with the abort reason if aborted before the start). */
  readonly signal?: AbortSignal;
}

/**
 * Runs one contract net from outside any agent (the cfp comes from `/$system`) and resolves
 * with its outcome. Rejects with ConfigurationError for bad options, ContractNetError when the
 * evaluation fails or decides something impossible, SystemStoppedError when the system is stopped.
 */
export function contractNet<T, P, R>(system: System, options: ContractNetOptions<T, P, R>): Promise<ContractNetOutcome<T, P, R>> {
  return new Promise((resolve, reject) => {
    if (typeof options?.ontology?.task?.safeParse !== 'function') {
      reject(new ConfigurationError('invalid-contract-net', 'contractNet needs { ontology } from contractNetOntology({...})'));
      return;
    }
    const { ontology, signal, ...input } = options;
    // Aborted already: nothing is sent, so no participant bids for a contract net nobody runs (as for `request`).
    if (signal?.aborted === true) {
      reject(abortReason(signal));
      return;
    }
    let actor: ReturnType<typeof createActor<ContractNetInitiatorMachine<T, P, R>>>;
    try {
      actor = createActor(initiatorFor(ontology), { input: { ...input, host: system.protocolHost } });
    } catch (error) {
      reject(error as Error);
      return;
    }
    const onAbort = (): void => actor.send({ type: 'cnet.cancel', reason: signal?.reason instanceof Error ? signal.reason.message : 'aborted' });
    actor.subscribe({
      complete: () => {
        signal?.removeEventListener('abort', onAbort);
        resolve(actor.getSnapshot().output as ContractNetOutcome<T, P, R>);
      },
      error: (error) => {
        signal?.removeEventListener('abort', onAbort);
        reject(error as Error);
        // XState leaves the children of a machine that errored running (the agent cell does the
        // same for agents): stopping the conversation cancels what is still in play and closes its port.
        for (const child of Object.values(actor.getSnapshot().children)) stopChild(child);
      },
    });
    actor.start();
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
