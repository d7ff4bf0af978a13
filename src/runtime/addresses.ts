/**
 * The reserved addresses: every path that starts with `/$` belongs to the runtime, never to
 * an agent (agent ids cannot contain `$`).
 */

/** Where every reserved address starts. */
export const RESERVED_PREFIX = '/$';
/** The sender of messages from outside any agent (`system.request`, `system.tell`, the call forms). */
export const SYSTEM_ADDRESS = '/$system';
/** A request waiting for its answer (`/$ask/<unguessable id>`; on a thread, `/$ask/w<thread>.<id>`). */
export const ASK_PREFIX = '/$ask/';
/** A conversation port of protocol logic (`/$port/<n>`; on a thread, `/$port/w<thread>.<n>`). */
export const PORT_PREFIX = '/$port/';
