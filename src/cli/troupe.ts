/**
 * The `troupe` command (package.json "bin", through bin.js): `troupe inspect <url>`.
 */
import { parseArgs } from 'node:util';
import { COMMANDS, inspect, InspectUsageError } from '../inspector/terminal-client.js';

export const USAGE = `usage: troupe inspect <url> [--token T] [--filter CONVERSATION|/PATH]... [--json] [--no-color]
  <url>       the inspector's address, as printed by the system (http://127.0.0.1:7400/ or ws://...);
              a token in its #fragment (http://127.0.0.1:7400/#token=...) is used as --token
  --token     the inspector token: opens agents' snapshots and control to this connection
              (sent in the WebSocket handshake, never in the URL)
  --filter    only events of this conversation id, or of the agents at or under this path; repeatable
  --json      one JSON object per line (events, then hello, dropped and error frames as they come)
  --no-color  plain text even on a terminal (also when NO_COLOR is set)
While it runs, it reads commands from standard input, one per line (snapshot and control need the token):
  ${COMMANDS}`;

/** Runs the command line; resolves with the exit code (2 for a usage error). */
export async function main(argv: readonly string[], write: (line: string) => void = (line) => process.stdout.write(`${line}\n`), signal?: AbortSignal, input?: NodeJS.ReadableStream): Promise<number> {
  try {
    const { values, positionals } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        token: { type: 'string' },
        filter: { type: 'string', multiple: true },
        json: { type: 'boolean', default: false },
        'no-color': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
    if (values.help) {
      write(USAGE);
      return 0;
    }
    const [command, url, ...extra] = positionals;
    if (command !== 'inspect') throw new InspectUsageError(command === undefined ? 'no command given' : `unknown command ${JSON.stringify(command)}`);
    if (url === undefined) throw new InspectUsageError('inspect needs the inspector URL');
    if (extra.length > 0) throw new InspectUsageError(`unexpected arguments: ${extra.join(' ')}`);
    const color = process.stdout.isTTY === true && !values['no-color'] && process.env.NO_COLOR === undefined;
    return await inspect({ url, token: values.token, filters: values.filter ?? [], json: values.json, color, write, input }, signal);
  } catch (error) {
    // parseArgs reports unknown options and missing values with a TypeError carrying a code.
    const usage = error instanceof InspectUsageError || (error instanceof TypeError && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS'));
    if (!usage) throw error;
    process.stderr.write(`troupe: ${error.message}\n${USAGE}\n`);
    return 2;
  }
}
