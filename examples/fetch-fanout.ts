/**
 * fetch-fanout: start a few hundred `fetch` calls at once, track them with one
 * WaitGroup, and wait for all of them. The example serves itself on
 * 127.0.0.1, so it needs no network.
 *
 *   npm start                                   # build, then run with the defaults
 *   npm start -- --requests 1000 --max-delay 200
 *
 * Options:
 *   --requests <n>     how many requests to make, 1–10000 (default 300)
 *   --max-delay <ms>   the longest a reply is held back, 0–2000 (default 60)
 *   --progress <mode>  auto (default), tty (one updating line), plain
 *                      (a line a second) or off
 *
 * The server has three routes, taken in turn: /fast and /slow answer after a
 * random delay, and /flaky answers 500 to one request in twenty of its own.
 *
 * @module
 */

import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { WaitGroup } from '../lib/index.js';

const USAGE = `usage: fetch-fanout [--requests <1-10000>] [--max-delay <0-2000 ms>]
                    [--progress auto|tty|plain|off]`;

type ProgressMode = 'tty' | 'plain' | 'off';

interface Options {
  readonly requests: number;
  readonly maxDelay: number;
  readonly progress: ProgressMode;
}

const ROUTES = ['/fast', '/slow', '/flaky'] as const;

/** route is where request `i` goes; /flaky gets every third request. */
const route = (i: number) => ROUTES[i % ROUTES.length] as (typeof ROUTES)[number];

/** fails tells which /flaky requests get a 500: i = 2, 62, 122, … (1 in 20 of them). */
const fails = (i: number) => i % 60 === 2;

/** startServer listens on 127.0.0.1 at a free port and counts the replies it sends. */
async function startServer(maxDelay: number) {
  const stats = { served: 0 };
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const i = Number(url.searchParams.get('i'));
    const limit = url.pathname === '/fast' ? Math.min(5, maxDelay) : maxDelay;
    setTimeout(() => {
      stats.served++;
      if (url.pathname === '/flaky' && fails(i)) res.writeHead(500).end('flaked\n');
      else res.writeHead(200, { 'content-type': 'text/plain' }).end(`${url.pathname} ${i}\n`);
    }, Math.random() * limit);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return { server, origin: `http://127.0.0.1:${port}`, stats };
}

async function stopServer(server: Server): Promise<void> {
  const closed = once(server, 'close');
  server.close();
  server.closeAllConnections(); // drop the idle keep-alive sockets now, not in 5 s
  await closed;
}

/** showProgress prints `line()` as the mode asks, until the returned function is called. */
function showProgress(mode: ProgressMode, line: () => string): () => void {
  if (mode === 'off') return () => {};
  const tty = mode === 'tty';
  // \r returns to column 0 and \x1b[2K clears the line, so each frame overwrites the last.
  const draw = () => process.stdout.write(tty ? `\r\x1b[2K${line()}` : `${line()}\n`);
  if (tty) draw(); // show the line at once; plain lines start after a second
  const timer = setInterval(draw, tty ? 50 : 1000);
  return () => {
    clearInterval(timer);
    if (tty) process.stdout.write('\r\x1b[2K');
  };
}

async function main(options: Options): Promise<number> {
  const { server, origin, stats } = await startServer(options.maxDelay);
  const tally = { ok: 0, http: 0, network: 0 };
  const finished = () => tally.ok + tally.http + tally.network;
  const started = performance.now();

  const wg = new WaitGroup();
  for (let i = 0; i < options.requests; i++) {
    // go() adds 1 now and calls done() once the task settles, however it ends.
    // wait() does not collect task errors, so each task deals with its own.
    void wg.go(async () => {
      try {
        const res = await fetch(`${origin}${route(i)}?i=${i}`, {
          signal: AbortSignal.timeout(10_000),
        });
        await res.arrayBuffer(); // read the body, so the connection can be reused
        if (res.ok) tally.ok++;
        else tally.http++;
      } catch {
        tally.network++;
      }
    });
  }

  // wg.counter is the number of requests still in flight.
  const stopProgress = showProgress(
    options.progress,
    () =>
      `${finished()}/${options.requests} done, ${wg.counter} in flight, ` +
      `${tally.http + tally.network} failed`,
  );
  await wg.wait();
  stopProgress();
  const seconds = (performance.now() - started) / 1000;
  await stopServer(server);

  const pad = (n: number) => String(n).padStart(6);
  console.log(
    `${options.requests} requests in ${seconds.toFixed(2)} s ` +
      `(${Math.round(options.requests / seconds)} requests/s)`,
  );
  console.log(`  ok      ${pad(tally.ok)}`);
  console.log(
    `  failed  ${pad(tally.http + tally.network)}  (HTTP 500: ${tally.http}, network: ${tally.network}; ` +
      'deliberate: the /flaky route fails 1 request in 20 to show that failures are counted too)',
  );
  console.log(`  served  ${pad(stats.served)}  by the server`);

  // wait() resolved only after the last task's done(): every reply is in.
  if (finished() !== options.requests || stats.served !== options.requests) {
    console.error('fetch-fanout: some requests were not accounted for');
    return 1;
  }
  return 0;
}

/** parseOptions reads the command line; it throws a message for the user on bad input. */
function parseOptions(args: string[]): Options | 'help' {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      requests: { type: 'string', default: '300' },
      'max-delay': { type: 'string', default: '60' },
      progress: { type: 'string', default: 'auto' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return 'help';
  const { progress } = values;
  if (progress !== 'auto' && progress !== 'tty' && progress !== 'plain' && progress !== 'off') {
    throw new Error(`--progress must be auto, tty, plain or off, got ${JSON.stringify(progress)}`);
  }
  return {
    requests: integer('--requests', values.requests, 1, 10_000),
    maxDelay: integer('--max-delay', values['max-delay'], 0, 2_000),
    progress: progress === 'auto' ? (process.stdout.isTTY ? 'tty' : 'plain') : progress,
  };
}

function integer(name: string, text: string, min: number, max: number): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min || n > max) {
    throw new Error(
      `${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(text)}`,
    );
  }
  return n;
}

let options: Options | 'help';
try {
  options = parseOptions(process.argv.slice(2));
} catch (error) {
  // parseArgs throws a TypeError with a clear message for unknown options.
  console.error(`fetch-fanout: ${(error as Error).message}\n${USAGE}`);
  process.exit(2);
}
if (options === 'help') console.log(USAGE);
else process.exitCode = await main(options);
