#!/usr/bin/env node
/**
 * The `awaitgroup` command: `awaitgroup ps` shows what the RedisWaitGroups
 * of a deployment are waiting for. Node only.
 *
 * Exit codes: 0 done; 1 a group named on the command line was not found;
 * 2 a bad argument, no Redis client installed, or Redis unreachable.
 *
 * @module
 */

import {
  type ClientKind,
  loadClient,
  mastersOf,
  parseRedisUrl,
  type RedisNode,
  UsageError,
} from '../cli/connect.js';
import { format, inspect, type PsReport } from '../cli/ps.js';

const HELP = `Usage: awaitgroup ps [options] [name...]

Show the RedisWaitGroups on a Redis server or Cluster: for each group its
counter, its pending waits, its generation, how long its keys live on, its
oldest unfinished go() tasks (name, host, pid, age, lease) and one line
that says why its waits have not returned.

Options:
  --redis <url>      the server: redis://[user:password@]host:port, or
                     rediss:// for TLS (default: redis://127.0.0.1:6379).
                     For a Cluster give any one node: every master is read.
  --prefix <prefix>  the key prefix of the groups (default: awaitgroup:)
  --tasks <n>        how many tasks to list per group, oldest first (default: 5)
  --json             print the report as JSON (with --watch: one line a second)
  --watch            redraw every second with a progress bar per group;
                     Ctrl-C stops (exit code 0)
  --client <name>    the Redis client to use, redis or ioredis (default: the
                     first of them that is installed)
  -h, --help         show this help

  name...            only these groups (default: every group under the prefix)

Exit codes: 0 done; 1 a named group was not found; 2 a bad argument, no
Redis client, or Redis unreachable.

Examples:
  npx awaitgroup ps --redis redis://redis.internal:6379
  npx awaitgroup ps --redis redis://10.0.0.7:7001 --watch batch-42
  npx awaitgroup ps --json | jq '.groups[] | {name, counter, why}'
`;

const USAGE = `Usage: awaitgroup ps [--redis <url>] [--prefix <prefix>] [--json] [--watch] [name...]
Run awaitgroup ps --help for more.
`;

interface PsOptions {
  readonly url: string;
  readonly prefix: string;
  readonly tasks: number;
  readonly json: boolean;
  readonly watch: boolean;
  readonly client: ClientKind | undefined;
  readonly names: readonly string[];
  readonly help: boolean;
}

/** parsePs reads the arguments that follow `ps`. */
function parsePs(args: readonly string[]): PsOptions {
  let url = 'redis://127.0.0.1:6379';
  let prefix = 'awaitgroup:';
  let tasks = 5;
  let json = false;
  let watch = false;
  let help = false;
  let client: ClientKind | undefined;
  const names: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const flag = eq === -1 ? arg : arg.slice(0, eq);
    const value = (): string => {
      if (eq !== -1) return arg.slice(eq + 1);
      const next = args[++i];
      if (next === undefined)
        throw new UsageError(`${flag} needs a value; see awaitgroup ps --help`);
      return next;
    };
    switch (flag) {
      case '--redis':
        url = value();
        break;
      case '--prefix':
        prefix = value();
        if (/[{}]/.test(prefix)) {
          throw new UsageError(`--prefix must not contain { or }, got ${JSON.stringify(prefix)}`);
        }
        break;
      case '--tasks': {
        const text = value();
        tasks = Number(text);
        if (!Number.isSafeInteger(tasks) || tasks < 0) {
          throw new UsageError(`--tasks must be a whole number >= 0, got ${JSON.stringify(text)}`);
        }
        break;
      }
      case '--client': {
        const text = value();
        if (text !== 'redis' && text !== 'ioredis') {
          throw new UsageError(`--client must be redis or ioredis, got ${JSON.stringify(text)}`);
        }
        client = text;
        break;
      }
      case '--json':
        json = true;
        break;
      case '--watch':
        watch = true;
        break;
      case '-h':
      case '--help':
        help = true;
        break;
      default:
        if (arg.startsWith('-')) {
          throw new UsageError(`unknown option ${arg}; see awaitgroup ps --help`);
        }
        names.push(arg);
    }
  }
  return { url, prefix, tasks, json, watch, client, names, help };
}

/** nulls writes an unknown field (a task's start where it is not recorded) as null, not nothing. */
const nulls = (_key: string, value: unknown): unknown => (value === undefined ? null : value);

/** ps runs `awaitgroup ps` and resolves with its exit code. */
async function ps(options: PsOptions): Promise<number> {
  const url = parseRedisUrl(options.url);
  const client = await loadClient(options.client);
  const first = await client.open(url);
  let nodes: RedisNode[] = [first];
  let cluster = false;
  const closeAll = async (): Promise<void> => {
    for (const node of new Set([first, ...nodes])) await node.close();
  };
  try {
    ({ cluster, nodes } = await mastersOf(client, url, first));
    const read = (): Promise<PsReport> =>
      inspect(nodes, cluster, options.prefix, options.names, options.tasks);
    if (!options.watch) {
      const report = await read();
      process.stdout.write(options.json ? `${JSON.stringify(report, nulls, 2)}\n` : format(report));
      return report.missing.length > 0 ? 1 : 0;
    }
    return await watch(read, options.json);
  } finally {
    await closeAll();
  }
}

/** watch redraws the report every second until SIGINT, then resolves with 0. */
async function watch(read: () => Promise<PsReport>, json: boolean): Promise<number> {
  const peaks = new Map<string, number>();
  const tty = process.stdout.isTTY === true;
  let stopped = false;
  let wake: (() => void) | undefined;
  const onSigint = (): void => {
    stopped = true;
    wake?.();
  };
  process.on('SIGINT', onSigint);
  try {
    while (!stopped) {
      const report = await read();
      for (const group of report.groups) {
        peaks.set(group.name, Math.max(peaks.get(group.name) ?? 0, group.counter));
      }
      if (json) {
        process.stdout.write(`${JSON.stringify(report, nulls)}\n`);
      } else {
        // On a terminal, draw over the last frame; in a file, one frame after another.
        process.stdout.write(`${tty ? '\x1b[H\x1b[2J' : '\n'}${format(report, peaks)}`);
      }
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, 1000).unref();
      });
    }
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
  return 0;
}

async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
    process.stdout.write(HELP);
    return command === undefined ? 2 : 0;
  }
  if (command !== 'ps') {
    process.stderr.write(`awaitgroup: unknown command ${JSON.stringify(command)}\n${USAGE}`);
    return 2;
  }
  const options = parsePs(rest);
  if (options.help) {
    process.stdout.write(HELP);
    return 0;
  }
  return ps(options);
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  // One line for a person; the stack only for whoever debugs the command itself.
  const message =
    error instanceof UsageError
      ? error.message
      : `Redis said: ${(error as Error)?.message ?? error}`;
  process.stderr.write(`awaitgroup ps: ${message}\n`);
  if (process.env.AWAITGROUP_DEBUG === '1') console.error(error);
  process.exitCode = 2;
}
