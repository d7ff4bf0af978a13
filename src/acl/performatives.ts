/** The 22 communicative acts of the FIPA ACL specification (SC00037). */
export const PERFORMATIVES = [
  'accept-proposal',
  'agree',
  'cancel',
  'cfp',
  'confirm',
  'disconfirm',
  'failure',
  'inform',
  'inform-if',
  'inform-ref',
  'not-understood',
  'propagate',
  'propose',
  'proxy',
  'query-if',
  'query-ref',
  'refuse',
  'reject-proposal',
  'request',
  'request-when',
  'request-whenever',
  'subscribe',
] as const;

export type Performative = (typeof PERFORMATIVES)[number];

const known: ReadonlySet<string> = new Set(PERFORMATIVES);

export function isPerformative(value: unknown): value is Performative {
  return typeof value === 'string' && known.has(value);
}

/**
 * Acts that open a conversation the receiver must answer. A message with one of these
 * gets a `reply-with` tag, and the runtime answers it with `failure` if the receiver dies
 * before answering, so no sender waits forever.
 */
const expectingReply: ReadonlySet<Performative> = new Set<Performative>([
  'cfp',
  'propose',
  'query-if',
  'query-ref',
  'request',
  'request-when',
  'request-whenever',
  'subscribe',
]);

export function expectsReply(performative: Performative): boolean {
  return expectingReply.has(performative);
}

/** `agree` promises a later answer, so it leaves the conversation open. */
export function closesConversation(performative: Performative): boolean {
  return performative !== 'agree';
}
