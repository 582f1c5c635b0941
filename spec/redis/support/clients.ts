/**
 * The clients of the Redis suite (R15): node-redis 5 and 6, ioredis 5 and 6
 * and iovalkey, on one server, a Cluster or a Sentinel set, described by a
 * plain {@link Target} that child processes get over IPC and connect to in
 * the same way. 'node-redis' and 'ioredis' are the current majors (6).
 *
 * @module
 */

import { Redis as IORedis5, Cluster as IORedis5Cluster } from 'ioredis5';
import { Redis as IORedis6, Cluster as IORedis6Cluster } from 'ioredis6';
import { Redis as IOValkey, Cluster as IOValkeyCluster } from 'iovalkey';
import * as redis5 from 'redis5';
import * as redis6 from 'redis6';
import type { RedisClient } from '../../../lib/redis/index.js';

/** The client libraries: 'node-redis' and 'ioredis' are node-redis 6 and ioredis 6. */
export type Kind = 'node-redis' | 'node-redis5' | 'ioredis' | 'ioredis5' | 'iovalkey';

/** Every kind, for tests that run on all of them. */
export const KINDS: readonly Kind[] = [
  'node-redis',
  'node-redis5',
  'ioredis',
  'ioredis5',
  'iovalkey',
];

/** Where to connect: one server, a Cluster by any of its nodes, or a Sentinel set by its sentinels. */
export interface Target {
  readonly kind: Kind;
  readonly cluster: boolean;
  /** The server's port, the Cluster's nodes, or the sentinels' ports. */
  readonly ports: readonly number[];
  /** The master name of a Sentinel set: `ports` are then the sentinels'. */
  readonly sentinel?: string;
  /** The protocol: 2 or 3 (node-redis' default is 2, ioredis 6's is 3). */
  readonly resp?: 2 | 3;
  /**
   * Reply shapes the user asked for: node-redis
   * `withTypeMapping({ [RESP_TYPES.MAP]: Array, [RESP_TYPES.BLOB_STRING]: Buffer })`,
   * ioredis 6 `replyMapping: 'resp3'`.
   */
  readonly mapped?: boolean;
  /** An ACL user to connect as (AUTH username password), on every connection of the client. */
  readonly user?: { readonly username: string; readonly password: string };
}

/** A connected client and how to close it. */
export interface Connected {
  readonly client: RedisClient;
  close(): Promise<void>;
}

/** Every method a user may close a client by: node-redis close/quit/destroy/disconnect, ioredis quit/disconnect. */
export const CLOSES: readonly string[] = ['close', 'quit', 'destroy', 'disconnect'];

/** closesOf lists the methods of {@link CLOSES} that a client of `target` has. */
export function closesOf(target: Target): string[] {
  if (family(target.kind) === 'ioredis') return ['quit', 'disconnect'];
  // A node-redis Sentinel client has only close() and destroy().
  return target.sentinel === undefined ? [...CLOSES] : ['close', 'destroy'];
}

/** family tells which library's shape a kind has. */
export function family(kind: Kind): 'node-redis' | 'ioredis' {
  return kind === 'node-redis' || kind === 'node-redis5' ? 'node-redis' : 'ioredis';
}

/** describeTarget names a target in test titles. */
export function describeTarget(target: Omit<Target, 'ports'>): string {
  const where = target.sentinel ? 'sentinel' : target.cluster ? 'cluster' : 'single server';
  const resp = target.resp === undefined ? '' : `, RESP${target.resp}`;
  return `${target.kind}, ${where}${resp}${target.mapped ? ', mapped replies' : ''}`;
}

const quiet = (): void => {};

// RESP_TYPES.MAP and BLOB_STRING of node-redis (the protocol's type bytes '%' and '$').
const MAP = 37;
const BLOB_STRING = 36;

/** What the suite uses of either node-redis major, loosely typed (their generics differ). */
interface NodeRedisLib {
  createClient(options: object): Client;
  createCluster(options: object): Client;
  createSentinel(options: object): Client;
}
interface Client {
  withTypeMapping(mapping: object): object;
  on(event: string, listener: () => void): unknown;
}
type Constructor = new (...args: never[]) => { on(event: string, listener: () => void): unknown };
interface IORedisLib {
  readonly Redis: Constructor;
  readonly Cluster: Constructor;
}

/** unconnected creates a client of `target` and does not connect it (node-redis), or connects lazily (ioredis). */
export function create(target: Target): RedisClient {
  const [port = 0] = target.ports;
  const kind = target.kind;
  if (family(kind) === 'node-redis') {
    const lib = (kind === 'node-redis5' ? redis5 : redis6) as unknown as NodeRedisLib;
    const socket = { host: '127.0.0.1', reconnectStrategy: () => 50 };
    const RESP = target.resp ?? 2;
    const auth = target.user ?? {};
    let client: Client;
    if (target.sentinel !== undefined) {
      client = lib.createSentinel({
        name: target.sentinel,
        sentinelRootNodes: target.ports.map((p) => ({ host: '127.0.0.1', port: p })),
        nodeClientOptions: { socket, RESP, ...auth },
        sentinelClientOptions: { socket },
      });
    } else if (target.cluster) {
      client = lib.createCluster({
        rootNodes: target.ports.map((p) => ({ socket: { host: '127.0.0.1', port: p } })),
        defaults: { socket, RESP, ...auth },
        RESP,
      });
    } else {
      client = lib.createClient({ socket: { ...socket, port }, RESP, ...auth });
    }
    client.on('error', quiet);
    return (
      target.mapped ? client.withTypeMapping({ [MAP]: Array, [BLOB_STRING]: Buffer }) : client
    ) as RedisClient;
  }
  const Lib: IORedisLib =
    kind === 'ioredis5'
      ? { Redis: IORedis5, Cluster: IORedis5Cluster }
      : kind === 'iovalkey'
        ? { Redis: IOValkey, Cluster: IOValkeyCluster }
        : { Redis: IORedis6, Cluster: IORedis6Cluster };
  const protocol =
    kind === 'ioredis'
      ? { protocol: target.resp ?? 3, ...(target.mapped ? { replyMapping: 'resp3' } : {}) }
      : {};
  const base = { lazyConnect: true, retryStrategy: () => 50, ...protocol, ...target.user };
  let client: { on(e: string, l: () => void): unknown };
  if (target.sentinel !== undefined) {
    client = new Lib.Redis({
      ...base,
      name: target.sentinel,
      sentinels: target.ports.map((p) => ({ host: '127.0.0.1', port: p })),
      sentinelRetryStrategy: () => 50,
    } as never);
  } else if (target.cluster) {
    client = new Lib.Cluster(
      target.ports.map((p) => ({ host: '127.0.0.1', port: p })) as never,
      { lazyConnect: true, clusterRetryStrategy: () => 50, redisOptions: base } as never,
    );
  } else {
    client = new Lib.Redis({ ...base, host: '127.0.0.1', port } as never);
  }
  client.on('error', quiet);
  return client as unknown as RedisClient;
}

/** connect opens a client of `target.kind` to `target`, ready for commands. */
export async function connect(target: Target): Promise<Connected> {
  const client = create(target) as unknown as RedisClient & {
    connect(): Promise<unknown>;
    destroy?(): unknown;
    disconnect(): unknown;
  };
  await client.connect();
  if (family(target.kind) === 'node-redis') {
    return { client, close: async () => void (client.destroy as () => unknown)() };
  }
  return { client, close: async () => void client.disconnect() };
}

/**
 * closeBy closes `client` the way a user would, by `method` (one of
 * {@link CLOSES}); the returned promise is the method's own, errors ignored.
 */
export async function closeBy(client: object, method: string): Promise<void> {
  const close = (client as Record<string, unknown>)[method];
  if (typeof close !== 'function') throw new TypeError(`the client has no ${method}()`);
  try {
    await close.call(client);
  } catch {
    // quit() on a client whose server is gone rejects; the client is closed all the same.
  }
}
