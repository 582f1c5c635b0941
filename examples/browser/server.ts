/**
 * A small static server for the browser example and the browser tests.
 *
 * It serves the repository's `dist/` under `/dist/` (so `/dist/lib/index.js`
 * is the package, unbundled) and the HTML pages of `examples/browser/` at the
 * root (`/` is `index.html`). Every response carries the two headers that make
 * a page cross-origin isolated, without which a browser has no
 * `SharedArrayBuffer` and a shared WaitGroup cannot exist:
 *
 *   Cross-Origin-Opener-Policy: same-origin
 *   Cross-Origin-Embedder-Policy: require-corp
 *
 * Usage: `node dist/examples/browser/server.js [--port N] [--no-isolation]`
 * (`npm run example:browser`). `--port 0`, the default, picks a free port;
 * `--no-isolation` leaves the headers out, to see what a page without them
 * gets.
 *
 * @module
 */

import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

/** The repository root: this file runs as dist/examples/browser/server.js. */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** What the server serves, by URL prefix: the build, and the example's HTML pages. */
const MOUNTS: readonly { readonly prefix: string; readonly dir: string; readonly only?: string }[] =
  [
    { prefix: '/dist/', dir: resolve(ROOT, 'dist') },
    { prefix: '/', dir: resolve(ROOT, 'examples', 'browser'), only: '.html' },
  ];

/** Content types by extension; anything else is served as bytes. */
const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.ts': 'text/plain; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
};

/** The headers that make a page cross-origin isolated. */
const ISOLATION_HEADERS: Readonly<Record<string, string>> = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

/** Options of {@link startServer}. */
export interface ServerOptions {
  /** The port to listen on; 0 (the default) picks a free one. */
  readonly port?: number | undefined;
  /** Send COOP/COEP on every response (default true). */
  readonly isolated?: boolean | undefined;
  /** The address to listen on (default 127.0.0.1, a secure context for browsers). */
  readonly host?: string | undefined;
}

/** A running server, as {@link startServer} returns it. */
export interface RunningServer {
  /** The base URL, ending in `/`: open it to see the example. */
  readonly url: string;
  /** The port it listens on. */
  readonly port: number;
  /** Whether responses carry COOP/COEP. */
  readonly isolated: boolean;
  /** The underlying node:http server. */
  readonly server: Server;
  /** close stops listening, ends idle connections and resolves when the server has closed. */
  close(): Promise<void>;
}

/**
 * startServer serves `dist/` and the example's pages on `port`, with the
 * cross-origin isolation headers unless `isolated` is false. It resolves once
 * the server listens.
 *
 * @example
 * ```ts
 * const server = await startServer({ port: 0 });
 * console.log(server.url); // http://127.0.0.1:41234/
 * await server.close();
 * ```
 */
export async function startServer(options: ServerOptions = {}): Promise<RunningServer> {
  const { port = 0, isolated = true, host = '127.0.0.1' } = options;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`startServer: port must be an integer in [0, 65535], got ${port}`);
  }
  const server = createServer((request, response) => {
    handle(request, response, isolated).catch((error: unknown) => {
      if (!response.headersSent) send(response, 500, isolated, 'internal error');
      else response.destroy(error instanceof Error ? error : undefined);
    });
  });
  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(port, host, () => {
      server.off('error', fail);
      done();
    });
  });
  const actual = (server.address() as AddressInfo).port;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${actual}/`,
    port: actual,
    isolated,
    server,
    close: () =>
      new Promise<void>((done, fail) => {
        server.close((error) => (error ? fail(error) : done()));
        server.closeAllConnections();
      }),
  };
}

/** handle answers one request: a file under one of the mounts, or an error status. */
async function handle(
  request: IncomingMessage,
  response: ServerResponse,
  isolated: boolean,
): Promise<void> {
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.setHeader('Allow', 'GET, HEAD');
    send(response, 405, isolated, 'method not allowed');
    return;
  }
  const file = resolveFile(request.url ?? '/');
  if (file === undefined) {
    send(response, 403, isolated, 'forbidden');
    return;
  }
  const info = await stat(file).catch(() => undefined);
  if (info === undefined || !info.isFile()) {
    send(response, 404, isolated, 'not found');
    return;
  }
  response.writeHead(200, {
    ...headers(isolated),
    'Content-Type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream',
    'Content-Length': info.size,
  });
  if (request.method === 'HEAD') {
    response.end();
    return;
  }
  createReadStream(file).pipe(response);
}

/**
 * resolveFile maps a request target to a file inside one of the mounts, or
 * returns undefined if it names something the server refuses: a path that
 * escapes its mount (`..`, encoded or not), an undecodable path, a NUL byte
 * or a backslash, or a file at the root that is not an HTML page.
 */
export function resolveFile(target: string): string | undefined {
  let path: string;
  try {
    path = decodeURIComponent(new URL(target, 'http://localhost').pathname);
  } catch {
    return undefined;
  }
  if (path.includes('\0') || path.includes('\\')) return undefined;
  if (path === '/') path = '/index.html';
  for (const { prefix, dir, only } of MOUNTS) {
    if (!path.startsWith(prefix)) continue;
    const file = resolve(dir, `.${path.slice(prefix.length - 1)}`);
    if (!file.startsWith(dir + sep)) return undefined;
    return only === undefined || extname(file) === only ? file : undefined;
  }
  return undefined;
}

function headers(isolated: boolean): Record<string, string> {
  return {
    ...(isolated ? ISOLATION_HEADERS : {}),
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
  };
}

function send(response: ServerResponse, status: number, isolated: boolean, text: string): void {
  response.writeHead(status, { ...headers(isolated), 'Content-Type': 'text/plain; charset=utf-8' });
  response.end(`${status} ${text}\n`);
}

/** main runs the server from the command line until it is interrupted. */
async function main(argv: readonly string[]): Promise<void> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      port: { type: 'string', default: '0' },
      'no-isolation': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log('usage: node dist/examples/browser/server.js [--port N] [--no-isolation]');
    return;
  }
  const port = Number(values.port);
  if (!/^\d+$/.test(values.port) || port > 65535) {
    throw new RangeError(
      `--port must be an integer in [0, 65535], got ${JSON.stringify(values.port)}`,
    );
  }
  const server = await startServer({ port, isolated: !values['no-isolation'] });
  console.log(
    `awaitgroup browser example: ${server.url} (${
      server.isolated
        ? 'cross-origin isolated: COOP same-origin, COEP require-corp'
        : 'NOT cross-origin isolated: shared groups are unavailable'
    }); Ctrl-C to stop`,
  );
  const stop = (): void => {
    void server.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  });
}
