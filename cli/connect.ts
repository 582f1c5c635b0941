/**
 * The command line's connections to Redis: whichever client the user has
 * installed (`redis` or `ioredis`), one plain connection per server, and a
 * Cluster's masters found from any one node. Every failure is a
 * {@link UsageError}, one line that says what went wrong and what to do.
 *
 * @module
 */

/** An error the command line reports as one line, with exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** The two clients the command line can use. */
export type ClientKind = 'redis' | 'ioredis';

/** One connection to one server: raw commands in, raw replies out. */
export interface RedisNode {
  /** `host:port` of the server. */
  readonly address: string;
  command(args: readonly string[]): Promise<unknown>;
  close(): Promise<void>;
}

/** A loaded client library, able to connect to one server. */
export interface Client {
  readonly kind: ClientKind;
  open(url: URL): Promise<RedisNode>;
}

const CONNECT_TIMEOUT_MS = 5_000;

interface NodeRedisClient {
  on(event: 'error', listener: (error: unknown) => void): unknown;
  connect(): Promise<unknown>;
  sendCommand(args: readonly string[]): Promise<unknown>;
  destroy(): void;
}

interface NodeRedisModule {
  createClient(options: object): NodeRedisClient;
}

interface IORedisClient {
  on(event: 'error', listener: (error: unknown) => void): unknown;
  connect(): Promise<unknown>;
  call(command: string, ...args: string[]): Promise<unknown>;
  disconnect(): void;
}

interface IORedisModule {
  Redis: new (url: string, options: object) => IORedisClient;
}

/** addressOf returns `host:port` of a redis:// URL. */
export function addressOf(url: URL): string {
  return `${url.hostname}:${url.port || '6379'}`;
}

/**
 * parseRedisUrl returns `text` as a redis:// or rediss:// URL, or throws a
 * UsageError that echoes it and shows the form.
 */
export function parseRedisUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(
      `not a Redis URL: ${JSON.stringify(text)}; use redis://host:port (or rediss:// for TLS)`,
    );
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new UsageError(
      `not a Redis URL: ${JSON.stringify(text)} has protocol ${url.protocol}; use redis://host:port (or rediss:// for TLS)`,
    );
  }
  if (url.hostname === '') {
    throw new UsageError(
      `not a Redis URL: ${JSON.stringify(text)} names no host; use redis://host:port`,
    );
  }
  return url;
}

function reason(error: unknown): string {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (typeof code === 'string' && typeof message === 'string' && !message.includes(code)) {
    return `${code} ${message}`;
  }
  return typeof message === 'string' && message !== '' ? message : String(error);
}

function unreachable(url: URL, error: unknown): UsageError {
  return new UsageError(`cannot reach Redis at ${addressOf(url)}: ${reason(error)}`);
}

async function importClient(kind: ClientKind): Promise<unknown> {
  try {
    return await import(kind);
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_MODULE_NOT_FOUND') return undefined;
    throw error;
  }
}

function nodeRedis(module: NodeRedisModule): Client {
  return {
    kind: 'redis',
    async open(url) {
      let failure: unknown;
      const client = module.createClient({
        url: url.href,
        // RESP2's flat arrays, which the report reads; node-redis 6 speaks RESP3 by default.
        RESP: 2,
        socket: { connectTimeout: CONNECT_TIMEOUT_MS, reconnectStrategy: false },
      });
      client.on('error', (error) => {
        failure ??= error;
      });
      try {
        await client.connect();
      } catch (error) {
        try {
          client.destroy();
        } catch {
          // A client that failed to connect may be closed already.
        }
        throw unreachable(url, failure ?? error);
      }
      return {
        address: addressOf(url),
        command: (args) => client.sendCommand(args),
        close: async () => {
          try {
            client.destroy();
          } catch {
            // Closed already.
          }
        },
      };
    },
  };
}

function ioredis(module: IORedisModule): Client {
  return {
    kind: 'ioredis',
    async open(url) {
      const client = new module.Redis(url.href, {
        lazyConnect: true,
        connectTimeout: CONNECT_TIMEOUT_MS,
        retryStrategy: () => null,
        maxRetriesPerRequest: 0,
      });
      let failure: unknown;
      client.on('error', (error) => {
        failure ??= error;
      });
      try {
        await client.connect();
      } catch (error) {
        client.disconnect();
        throw unreachable(url, failure ?? error);
      }
      return {
        address: addressOf(url),
        command: ([name, ...args]) => client.call(name as string, ...args),
        close: async () => client.disconnect(),
      };
    },
  };
}

/**
 * loadClient imports `prefer`, or else the first of `redis` and `ioredis`
 * that is installed where the command line runs.
 *
 * @throws {UsageError} if neither is installed, saying how to install one
 */
export async function loadClient(prefer?: ClientKind): Promise<Client> {
  for (const kind of prefer === undefined ? (['redis', 'ioredis'] as const) : [prefer]) {
    const module = await importClient(kind);
    if (module === undefined) continue;
    return kind === 'redis'
      ? nodeRedis(module as NodeRedisModule)
      : ioredis(module as IORedisModule);
  }
  throw new UsageError(
    prefer === undefined
      ? 'no Redis client found: npm install redis (or: npm install ioredis)'
      : `--client ${prefer}: the package is not installed; npm install ${prefer}`,
  );
}

/** textOf returns a reply that is a string or a Buffer as a string. */
export function textOf(reply: unknown): string {
  if (typeof reply === 'string') return reply;
  if (reply instanceof Uint8Array) return new TextDecoder().decode(reply);
  return String(reply);
}

/**
 * mastersOf returns the connections to read a deployment through: `first`
 * alone for a single server, or one per master of a Cluster (found with
 * CLUSTER NODES from `first`, which is closed unless it is a master).
 */
export async function mastersOf(
  client: Client,
  url: URL,
  first: RedisNode,
): Promise<{ readonly cluster: boolean; readonly nodes: RedisNode[] }> {
  const info = textOf(await first.command(['INFO', 'cluster']));
  if (!/cluster_enabled:1/.test(info)) return { cluster: false, nodes: [first] };
  const lines = textOf(await first.command(['CLUSTER', 'NODES'])).split('\n');
  const addresses: string[] = [];
  for (const line of lines) {
    const [, address, flags] = line.split(' ');
    if (address === undefined || flags === undefined) continue;
    const flagList = flags.split(',');
    if (!flagList.includes('master') || flagList.some((f) => f.startsWith('fail'))) continue;
    const hostPort = address.split('@')[0] ?? '';
    const colon = hostPort.lastIndexOf(':');
    const host = hostPort.slice(0, colon);
    const port = hostPort.slice(colon + 1);
    // A node that knows no address for itself reports ':port'; it is the one we asked.
    addresses.push(`${host === '' ? url.hostname : host}:${port}`);
  }
  const nodes: RedisNode[] = [];
  try {
    for (const address of addresses.sort()) {
      if (address === first.address) {
        nodes.push(first);
        continue;
      }
      const colon = address.lastIndexOf(':');
      const masterUrl = new URL(url.href);
      masterUrl.hostname = address.slice(0, colon);
      masterUrl.port = address.slice(colon + 1);
      nodes.push(await client.open(masterUrl));
    }
  } catch (error) {
    for (const node of nodes) await node.close();
    throw error;
  }
  if (!nodes.includes(first)) await first.close();
  return { cluster: true, nodes };
}
