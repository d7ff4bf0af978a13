import { nanoid } from 'nanoid';

/**
 * Every id the kernel makes, from one source per system: real by default, replaceable (a
 * journal's recorded ids in a replay; fixed ids in tests).
 */
export interface IdSource {
  /** A new incarnation id for each start of an agent. */
  incarnation(): string;
  conversation(): string;
  replyTag(): string;
  /** The id in a waiting request's address: it must not be guessable (see PendingAsks). */
  ask(): string;
}

/**
 * Ids of one system: its nanoid and a counter, unique like a nanoid, and short. V8 stores a
 * string of up to 12 characters flat and a longer concatenation as a chain of pieces; every
 * message carries two such ids, so six random characters (36 bits) keep ids flat up to tens of
 * millions per system, which measurably lightens GC when a million messages wait in mailboxes.
 * Ask ids are full nanoids: an address that must not be guessed.
 */
export function systemIds(): IdSource {
  const prefix = nanoid(6);
  let incarnations = 0;
  let conversations = 0;
  let replyTags = 0;
  return {
    incarnation: () => `${prefix}${(incarnations++).toString(36)}`,
    conversation: () => `${prefix}-${(conversations++).toString(36)}`,
    replyTag: () => `${prefix}.${(replyTags++).toString(36)}`,
    ask: () => nanoid(),
  };
}
