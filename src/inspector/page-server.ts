/** Serves the inspector page (src/inspector/page/, copied into dist/ by the build) on the inspector's port. */
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../runtime/logger.js';

const PAGE_FILES: Readonly<Record<string, { file: string; type: string }>> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/index.html': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/inspector.js': { file: 'inspector.js', type: 'text/javascript; charset=utf-8' },
  '/inspector.css': { file: 'inspector.css', type: 'text/css; charset=utf-8' },
};
/** Next to this module in src/ and in dist/ (the build copies the page). */
const PAGE_DIR = new URL('./page/', import.meta.url);

/** The page's HTTP handler: GET or HEAD of its three files, 404 elsewhere, 405 for other methods. */
export function servePage(logger: Logger): (request: IncomingMessage, response: ServerResponse) => Promise<void> {
  return async (request, response) => {
    const path = new URL(request.url ?? '/', 'http://inspector').pathname;
    const page = PAGE_FILES[path];
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    if (page === undefined) {
      response.writeHead(404, { 'content-type': 'text/plain' }).end(`no page at ${path}; the inspector page is at /\n`);
      return;
    }
    try {
      const body = await readFile(new URL(page.file, PAGE_DIR));
      response.writeHead(200, {
        'content-type': page.type,
        'cache-control': 'no-store',
        'x-content-type-options': 'nosniff',
        // The token may sit in the page's #fragment: no referrer ever carries the address on.
        'referrer-policy': 'no-referrer',
        'content-security-policy': "default-src 'self'; connect-src 'self' ws: wss:; style-src 'self'; script-src 'self'; frame-ancestors 'none'",
      });
      response.end(request.method === 'HEAD' ? undefined : body);
    } catch (error) {
      logger.error({ err: error }, `the inspector page file ${page.file} could not be read (was the page copied by the build?)`);
      response.writeHead(500, { 'content-type': 'text/plain' }).end('the inspector page is missing from this installation\n');
    }
  };
}
