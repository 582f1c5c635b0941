/**
 * The small adapter over the clients a user already has: node-redis
 * (`redis` ≥ 5, `createClient` or `createCluster`) and ioredis (`Redis` or
 * `Cluster`). Nothing is imported from either: a client is recognised by
 * its shape, and every command goes through its generic command call, so
 * the same code runs on one server and on a Cluster (the client routes by
 * the first key).
 *
 * @module
 */

import { describe } from '../errors.js';

/**
 * A Redis client the user already has: a node-redis client or cluster
 * (`createClient()`, `createCluster()`, connected), or an ioredis `Redis`
 * or `Cluster`.
 */
export type RedisClient =
  | {
      sendCommand(...args: never[]): Promise<unknown>;
      duplicate(...args: never[]): unknown;
      readonly isOpen: boolean;
    }
  | {
      call(...args: never[]): Promise<unknown>;
      duplicate(...args: never[]): unknown;
      readonly status: string;
    };

/** What the user's client is now (see `Connection.readiness`). */
export type Readiness = 'ready' | 'lazy' | 'connecting' | 'closed' | 'unconnected';

/** The commands this package sends, over whichever client it was given. */
export interface Connection {
  /** Which library the client comes from. */
  readonly kind: 'node-redis' | 'ioredis';
  /** Whether it is a Cluster client. */
  readonly cluster: boolean;
  /**
   * readiness tells what the user's client is now: 'ready'; 'lazy' (connects
   * on its first command); 'connecting' (transient); 'closed' or
   * 'unconnected', which are refused at once.
   */
  readiness(): Readiness;
  /** describeServer names the server for error messages. */
  describeServer(): string;
  /** A key prefix the client adds itself (ioredis keyPrefix), or ''. */
  readonly keyPrefix: string;
  /** call sends one command, routed by `firstKey` on a Cluster. */
  call(firstKey: string | undefined, args: readonly string[]): Promise<unknown>;
  /** duplicate opens a new connection (one per node on a Cluster) with the same options. */
  duplicate(): Promise<Blocking>;
  /** onEnd calls `listener` once the user's client is closed. */
  onEnd(listener: () => void): void;
}

/** A duplicate for blocking reads. */
export interface Blocking {
  call(firstKey: string | undefined, args: readonly string[]): Promise<unknown>;
  /** onReady calls `listener` each time the connection is (re)established. */
  onReady(listener: () => void): void;
  close(): void;
}

interface Emitter {
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  once(event: string, listener: (...args: unknown[]) => void): unknown;
}
interface NodeRedisClient extends Emitter {
  readonly isOpen: boolean;
  readonly isReady: boolean;
  readonly options?: { socket?: { host?: string; port?: number; path?: string } };
  sendCommand(args: readonly string[]): Promise<unknown>;
  duplicate(): NodeRedisClient;
  connect(): Promise<unknown>;
  destroy(): void;
}
interface NodeRedisCluster extends Emitter {
  readonly isOpen: boolean;
  readonly masters?: readonly { address?: string }[];
  sendCommand(
    firstKey: string | undefined,
    isReadonly: boolean,
    args: readonly string[],
  ): Promise<unknown>;
  duplicate(): NodeRedisCluster;
  connect(): Promise<unknown>;
  destroy(): void;
}
interface IORedis extends Emitter {
  call(command: string, ...args: string[]): Promise<unknown>;
  duplicate(): IORedis;
  disconnect(): void;
  readonly isCluster?: boolean;
  readonly status: string;
  readonly options?: {
    host?: string;
    port?: number;
    path?: string;
    keyPrefix?: string;
    lazyConnect?: boolean;
  };
  nodes?(role: string): { options: { host?: string; port?: number } }[];
}

function has(value: object, name: string): boolean {
  return typeof (value as Record<string, unknown>)[name] === 'function';
}

/**
 * connectionOf recognises `client`, or throws the TypeError naming
 * both supported libraries.
 */
export function connectionOf(client: unknown, caller: string): Connection {
  if (typeof client === 'object' && client !== null) {
    if (has(client, 'call') && has(client, 'duplicate') && 'status' in client) {
      return ioredis(client as unknown as IORedis);
    }
    if (has(client, 'sendCommand') && has(client, 'duplicate') && 'isOpen' in client) {
      return 'masters' in client
        ? nodeRedisCluster(client as unknown as NodeRedisCluster)
        : nodeRedis(client as unknown as NodeRedisClient);
    }
  }
  throw new TypeError(
    `${caller}: client must be a node-redis client or cluster (createClient(), createCluster() ` +
      `from 'redis', connected) or an ioredis Redis or Cluster, got ${describe(client)}`,
  );
}

const quiet = (): void => {};

const seenOpen = new WeakSet<object>();
const ended = new WeakSet<object>();

function nodeRedisReadiness(client: { readonly isOpen: boolean }, ready: boolean): Readiness {
  if (client.isOpen) {
    seenOpen.add(client);
    return ready ? 'ready' : 'connecting';
  }
  return seenOpen.has(client) || ended.has(client) ? 'closed' : 'unconnected';
}

const watched = new WeakSet<object>();

/** track remembers, once per client, that it was open and when it ended. */
function track(client: Emitter & { readonly isOpen: boolean }, end: string): void {
  if (client.isOpen) seenOpen.add(client);
  if (watched.has(client)) return;
  watched.add(client);
  client.once(end, () => ended.add(client));
}

function nodeRedis(client: NodeRedisClient): Connection {
  track(client, 'end');
  return {
    kind: 'node-redis',
    cluster: false,
    readiness: () => nodeRedisReadiness(client, client.isReady),
    describeServer() {
      const socket = client.options?.socket;
      if (socket?.path !== undefined) return `Redis at ${socket.path}`;
      return `Redis at ${socket?.host ?? 'localhost'}:${socket?.port ?? 6379}`;
    },
    keyPrefix: '',
    call: (_key, args) => client.sendCommand(args),
    async duplicate() {
      const copy = client.duplicate();
      copy.on('error', quiet);
      await copy.connect();
      return {
        call: (_key, args) => copy.sendCommand(args),
        onReady: (listener) => void copy.on('ready', listener),
        close: () => copy.destroy(),
      };
    },
    onEnd: (listener) => void client.once('end', listener),
  };
}

function nodeRedisCluster(cluster: NodeRedisCluster): Connection {
  track(cluster, 'disconnect');
  return {
    kind: 'node-redis',
    cluster: true,
    readiness: () => nodeRedisReadiness(cluster, true),
    describeServer() {
      const nodes = (cluster.masters ?? []).map((node) => node.address).filter(Boolean);
      return `Redis Cluster (nodes ${nodes.join(', ') || 'unknown'})`;
    },
    keyPrefix: '',
    call: (key, args) => cluster.sendCommand(key, false, args),
    async duplicate() {
      const copy = cluster.duplicate();
      copy.on('error', quiet);
      await copy.connect();
      return {
        call: (key, args) => copy.sendCommand(key, false, args),
        onReady: (listener) => void copy.on('node-ready', listener),
        close: () => copy.destroy(),
      };
    },
    onEnd: (listener) => void cluster.once('disconnect', listener),
  };
}

function ioredis(client: IORedis): Connection {
  const call = (target: IORedis, args: readonly string[]): Promise<unknown> => {
    const [command, ...rest] = args as [string, ...string[]];
    return target.call(command, ...rest);
  };
  return {
    kind: 'ioredis',
    cluster: client.isCluster === true,
    readiness() {
      switch (client.status) {
        case 'ready':
          return 'ready';
        case 'wait':
          return 'lazy';
        case 'end':
          return 'closed';
        default:
          return 'connecting';
      }
    },
    describeServer() {
      if (client.isCluster === true) {
        const nodes = (client.nodes?.('master') ?? []).map(
          (node) => `${node.options.host}:${node.options.port}`,
        );
        return `Redis Cluster (nodes ${nodes.join(', ') || 'unknown'})`;
      }
      const options = client.options;
      if (options?.path) return `Redis at ${options.path}`;
      return `Redis at ${options?.host ?? 'localhost'}:${options?.port ?? 6379}`;
    },
    keyPrefix: client.options?.keyPrefix ?? '',
    call: (_key, args) => call(client, args),
    async duplicate() {
      const copy = client.duplicate();
      copy.on('error', quiet);
      return {
        call: (_key, args) => call(copy, args),
        onReady: (listener) => void copy.on('ready', listener),
        close: () => copy.disconnect(),
      };
    },
    onEnd: (listener) => void client.once('end', listener),
  };
}

/**
 * isTransient tells a failure worth retrying with the same operation id
 * (a dropped connection, a server still loading its data, a Cluster
 * moving slots) from a reply that will not change (a script error).
 */
export function isTransient(error: unknown): boolean {
  if (!(error instanceof Error) || isClosed(error)) return false;
  const { message } = error;
  if (/^(LOADING|BUSY|TRYAGAIN|CLUSTERDOWN|MASTERDOWN|READONLY)\b/.test(message)) return true;
  // Any other Redis error reply starts with its code in capitals.
  return !/^[A-Z]{2,}\b/.test(message);
}

/** isClosed: the error says the user's client is closed (or was never connected). */
export function isClosed(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  return (
    error.message === 'The client is closed' ||
    error.message === 'Disconnects client' ||
    error.name === 'ClientClosedError'
  );
}
