/**
 * The small adapter over the clients a user already has: node-redis 5 and 6
 * (`createClient`, `createCluster`, `createSentinel`, RESP2 or RESP3, with
 * or without `withTypeMapping`), ioredis 5 and 6 (`Redis`, `Cluster`,
 * `Redis` with `sentinels`) and iovalkey (ioredis' shape). Nothing is
 * imported from any of them: a client is recognised by its shape, and
 * every command goes through its generic command call, so the same code
 * runs on one server, on a Cluster (the client routes by the first key)
 * and behind Sentinel (the client follows the master).
 *
 * What the commands this package sends return, per client (the readers of
 * replies normalise them, and take any other shape as "re-check"):
 *
 * - `EVALSHA`/`EVAL` (a script's table, integer, string or nil): an array,
 *   a number, a string or null with every client and protocol. Scripts do
 *   not switch to RESP3 (`redis.setresp`), so a table is always an array.
 * - `XREAD ... STREAMS k1 k2 id1 id2`: null when nothing came; otherwise
 *   with RESP2 (node-redis' default, ioredis 5, iovalkey) and with ioredis
 *   6's RESP3 in its default `replyMapping: 'legacy'`, an array of
 *   `[key, [[id, [field, value, ...]], ...]]`; with node-redis and RESP3, a
 *   plain object `{ key: [[id, [field, value, ...]], ...] }`; with ioredis 6,
 *   RESP3 and `replyMapping: 'resp3'`, the same plain object. node-redis
 *   type mappings a user set with `withTypeMapping` (maps as arrays or
 *   `Map`s, strings as `Buffer`s) do not apply: such a client's commands
 *   are sent with an empty type mapping, so node-redis returns its default
 *   shapes above.
 * - `CLIENT ID`: a number; `CLIENT UNBLOCK`: 0 or 1; `WAIT`: a number (on a
 *   Cluster, sent to the master of its first key).
 * - With ioredis' `keyPrefix`, ioredis prefixes the keys of every command
 *   (and XREAD replies name the prefixed keys); see `Connection.keyPrefix`.
 *   node-redis' `keyPrefix` applies to its typed commands only, not to the
 *   generic call used here.
 *
 * @module
 */

import { describe } from '../errors.js';
import { canSubscribe, ioredisSubscriber, type ShardedCluster } from './ioredis-subscriber.js';

/**
 * A node-redis 5 or 6 client, Cluster or Sentinel client (`createClient()`,
 * `createCluster()`, `createSentinel()` from `redis`), connected.
 */
export interface NodeRedisLike {
  readonly isOpen: boolean;
  sendCommand(...args: never[]): unknown;
}

/** An ioredis 5 or 6 (or iovalkey) `Redis` or `Cluster`, connected or with `lazyConnect`. */
export interface IORedisLike {
  readonly status: string;
  call(...args: never[]): unknown;
  duplicate(...args: never[]): unknown;
}

/**
 * A Redis client the user already has: a node-redis client, Cluster or
 * Sentinel client, or an ioredis (or iovalkey) `Redis` or `Cluster`.
 */
export type RedisClient = NodeRedisLike | IORedisLike;

/**
 * What the user's client is now: 'ready'; 'lazy' (an ioredis client with
 * `lazyConnect` that has not connected yet: it connects on its first
 * command); 'connecting' (connecting or reconnecting: transient); 'closed'
 * (the user closed it) or 'unconnected' (never connected: a node-redis
 * client before `connect()`).
 */
export type Readiness = 'ready' | 'lazy' | 'connecting' | 'closed' | 'unconnected';

/** The commands this package sends, over whichever client it was given. */
export interface Connection {
  /** Which library's shape the client has (iovalkey has ioredis'). */
  readonly kind: 'node-redis' | 'ioredis';
  /** Whether it is a Cluster client. */
  readonly cluster: boolean;
  /** Whether it reaches its master through Sentinel. */
  readonly sentinel: boolean;
  /** readiness tells what the user's client is now; 'closed' and 'unconnected' are refused at once. */
  readiness(): Readiness;
  /**
   * describeServer names the server for error messages: 'Redis at
   * 127.0.0.1:6379', 'Redis Cluster node 127.0.0.1:7001' (the master of
   * `key`'s slot, when known), 'Sentinel master "mymaster" (sentinels
   * 127.0.0.1:26379, ...)'.
   */
  describeServer(key?: string): string;
  /** A key prefix the client adds to every key itself (ioredis `keyPrefix`), or ''. */
  readonly keyPrefix: string;
  /** call sends one command, routed by `firstKey` on a Cluster. */
  call(firstKey: string | undefined, args: readonly string[]): Promise<unknown>;
  /**
   * duplicate opens a new connection with the same options for blocking
   * reads: one connection on a single server, one per node on a Cluster,
   * one that follows the master behind Sentinel.
   */
  duplicate(): Promise<Blocking>;
  /**
   * subscriber opens a subscriber for shard channels (sharded pub/sub):
   * node-redis 5 and 6 Cluster clients (the client itself, which opens one
   * connection per master while it has subscriptions there), ioredis 5 and 6
   * and iovalkey Cluster clients (one connection per master that holds a
   * subscribed channel, made from the client's own connection to it). Absent
   * where the client cannot subscribe to shard channels (a single server,
   * Sentinel, an ioredis Cluster without SSUBSCRIBE).
   */
  readonly subscriber: (() => Promise<Subscriber>) | undefined;
  /**
   * onEnd calls `listener` once when the user closes the client, whichever
   * way they close it (at once, asynchronously, if it is closed already).
   */
  onEnd(listener: () => void): void;
}

/** A duplicate connection for blocking reads. */
export interface Blocking {
  call(firstKey: string | undefined, args: readonly string[]): Promise<unknown>;
  /** onReady calls `listener` each time the connection is (re)established. */
  onReady(listener: () => void): void;
  close(): void;
}

/**
 * A Cluster connection subscribed to shard channels. Messages published
 * while it is disconnected are lost: `onReconnect` says when that may have
 * happened.
 */
export interface Subscriber {
  /**
   * subscribe calls `onMessage` with each message published on `channel`
   * (the client's own key prefix is not added) from when it resolves; it
   * resolves to the function that stops it.
   */
  subscribe(channel: string, onMessage: (message: string) => void): Promise<() => Promise<void>>;
  /**
   * onReconnect calls `listener(false)` each time a connection of it failed
   * or is reconnecting, and `listener(true)` each time one is (again)
   * connected and subscribed.
   */
  onReconnect(listener: (subscribed: boolean) => void): void;
  close(): void;
}

interface Emitter {
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  once(event: string, listener: (...args: unknown[]) => void): unknown;
  removeListener(event: string, listener: (...args: unknown[]) => void): unknown;
}
interface NodeRedisBase extends Emitter {
  readonly isOpen: boolean;
  readonly isReady?: boolean;
  readonly socketEpoch?: number;
  connect(): Promise<unknown>;
  destroy(): unknown;
}
interface NodeRedisClient extends NodeRedisBase {
  readonly options?: {
    readonly url?: string;
    readonly socket?: { readonly host?: string; readonly port?: number; readonly path?: string };
  };
  sendCommand(args: readonly string[], options?: object): Promise<unknown>;
  duplicate(): NodeRedisClient;
}
interface NodeRedisCluster extends NodeRedisBase {
  readonly masters?: readonly { readonly host?: string; readonly port?: number }[];
  readonly slots?: readonly (
    | { readonly master?: { readonly host?: string; readonly port?: number } }
    | undefined
  )[];
  sendCommand(
    firstKey: string | undefined,
    isReadonly: boolean,
    args: readonly string[],
    options?: object,
  ): Promise<unknown>;
  duplicate(): NodeRedisCluster;
  sSubscribe?(channel: string, listener: (message: string) => void): Promise<unknown>;
  sUnsubscribe?(channel: string, listener: (message: string) => void): Promise<unknown>;
  /** node-redis 6: the connection to the master (or a replica) of `key`'s slot. */
  getNodeClientForKey?(
    key: string,
    isReadonly: boolean,
  ): Promise<{ sendCommand(args: readonly string[], options?: object): Promise<unknown> }>;
}
interface NodeRedisSentinel extends NodeRedisBase {
  getMasterNode(): { readonly host?: string; readonly port?: number } | undefined;
  getSentinelNode?(): { readonly host?: string; readonly port?: number } | undefined;
  sendCommand(isReadonly: boolean, args: readonly string[], options?: object): Promise<unknown>;
  /** node-redis 6 only. */
  duplicate?(): NodeRedisSentinel;
}
interface IORedisOptions {
  readonly host?: string;
  readonly port?: number;
  readonly path?: string;
  readonly name?: string;
  readonly keyPrefix?: string;
  readonly sentinels?: readonly { readonly host?: string; readonly port?: number }[];
  readonly redisOptions?: { readonly keyPrefix?: string };
}
interface IORedis extends Emitter {
  readonly status: string;
  readonly isCluster?: boolean;
  readonly manuallyClosing?: boolean;
  readonly options?: IORedisOptions;
  readonly startupNodes?: readonly ({ readonly host?: string; readonly port?: number } | string)[];
  readonly slots?: readonly (readonly string[] | undefined)[];
  call(command: string, ...args: string[]): Promise<unknown>;
  duplicate(): IORedis;
  disconnect(): void;
  /** A Cluster's node connections. */
  nodes?(role: 'master' | 'slave' | 'all'): readonly IORedis[];
}

function has(value: object, name: string): boolean {
  return typeof (value as Record<string, unknown>)[name] === 'function';
}

/**
 * connectionOf recognises `client`, or throws a TypeError naming the
 * supported libraries.
 */
export function connectionOf(client: unknown, caller: string): Connection {
  if (typeof client === 'object' && client !== null) {
    if (has(client, 'call') && has(client, 'duplicate') && 'status' in client) {
      return ioredis(client as unknown as IORedis);
    }
    if (has(client, 'sendCommand') && 'isOpen' in client) {
      // node-redis 5's Sentinel client has no duplicate().
      if (has(client, 'getMasterNode')) {
        return nodeRedisSentinel(client as unknown as NodeRedisSentinel);
      }
      if (has(client, 'duplicate')) {
        if ('masters' in client) return nodeRedisCluster(client as unknown as NodeRedisCluster);
        return nodeRedis(client as unknown as NodeRedisClient);
      }
    }
  }
  throw new TypeError(
    `${caller}: client must be a node-redis client or cluster or Sentinel client (createClient(), ` +
      `createCluster(), createSentinel() from 'redis' 5 or 6) or an ioredis Redis or Cluster ` +
      `(ioredis 5 or 6, or iovalkey), got ${describe(client)}`,
  );
}

const quiet = (): void => {};

/**
 * Sent with the commands of a node-redis client that has a type mapping
 * (`withTypeMapping`, or `commandOptions.typeMapping`): an empty one undoes
 * it, so replies have node-redis' default shapes.
 */
const RAW = Object.freeze({ typeMapping: Object.freeze({}) });

/**
 * optionsOf returns `RAW` for a node-redis client with a type
 * mapping, else undefined: passing options costs node-redis about a fifth
 * of its rate of small commands (64 concurrent EVALSHAs, measured), so
 * clients without a mapping get none.
 */
function optionsOf(client: object): typeof RAW | undefined {
  const own = client as {
    readonly _commandOptions?: { readonly typeMapping?: object };
    readonly commandOptions?: { readonly typeMapping?: object };
  };
  let mapping: object | undefined;
  try {
    mapping = own._commandOptions?.typeMapping ?? own.commandOptions?.typeMapping;
  } catch {
    mapping = {};
  }
  return mapping === undefined ? undefined : RAW;
}

/**
 * The closing of one user's client, shared by every connection made from
 * it: the listeners, and whether the client was seen closing.
 */
interface Ending {
  readonly listeners: Set<() => void>;
  ended: boolean;
  poll: ReturnType<typeof setInterval> | undefined;
}
const endings = new WeakMap<object, Ending>();

/** How often a client that announces no closing of its own is looked at. */
const POLL_MS = 250;

/**
 * endingOf watches `client` for its closing: the `events` it emits when the
 * user closes it, and, when `poll` is set (a client that emits none), its
 * readiness every `POLL_MS` while anyone listens.
 */
function endingOf(
  client: Emitter,
  events: readonly string[],
  closed: () => boolean,
  poll: boolean,
): {
  ended(): boolean;
  onEnd(listener: () => void): void;
} {
  let ending = endings.get(client);
  if (ending === undefined) {
    const created: Ending = { listeners: new Set(), ended: false, poll: undefined };
    ending = created;
    endings.set(client, created);
    const fire = (): void => {
      if (created.ended) return;
      created.ended = true;
      clearInterval(created.poll);
      const listeners = [...created.listeners];
      created.listeners.clear();
      for (const listener of listeners) listener();
    };
    for (const event of events) client.on(event, fire);
    if (poll) {
      created.poll = setInterval(() => {
        if (created.listeners.size > 0 && closed()) fire();
      }, POLL_MS);
      created.poll.unref();
    }
  }
  const watched = ending;
  return {
    ended: () => watched.ended,
    onEnd(listener) {
      if (watched.ended || closed()) {
        queueMicrotask(listener);
        return;
      }
      watched.listeners.add(listener);
    },
  };
}

function address(host: string | undefined, port: number | undefined): string {
  return `${host ?? '127.0.0.1'}:${port ?? 6379}`;
}

function list(addresses: readonly string[]): string {
  const shown = addresses.slice(0, 3).join(', ');
  return addresses.length > 3 ? `${shown}, ...` : shown;
}

/**
 * guarded sends a node-redis command unless the client is closed or was
 * never connected: node-redis 5's Cluster and node-redis 6's Sentinel
 * client then throw a TypeError from inside, not their 'The client is
 * closed'.
 */
function guarded(readiness: () => Readiness, send: () => Promise<unknown>): Promise<unknown> {
  const now = readiness();
  if (now === 'closed' || now === 'unconnected') return Promise.reject(closedError());
  return send().catch((error: unknown) => {
    const after = readiness();
    if (after === 'closed' || after === 'unconnected') throw closedError(error);
    // The client is open: a node connection it closed itself (a Cluster or Sentinel client
    // dropping a node after a topology change) is not the user's close, and is worth a retry.
    if (error instanceof Error && CLOSED_MESSAGES.has(error.message)) {
      throw new Error(`the client dropped a node's connection (${error.message})`, {
        cause: error,
      });
    }
    throw error;
  });
}

/** closedError is node-redis' own error for a command on a closed client. */
function closedError(cause?: unknown): Error {
  const error = new Error('The client is closed', cause === undefined ? undefined : { cause });
  error.name = 'ClientClosedError';
  return error;
}

/** nodeReadiness reads a node-redis client's `isOpen`/`isReady`. */
function nodeReadiness(client: NodeRedisBase, ended: boolean): Readiness {
  if (!client.isOpen) {
    return ended || (client.socketEpoch ?? 0) > 0 ? 'closed' : 'unconnected';
  }
  return client.isReady === false ? 'connecting' : 'ready';
}

function nodeRedis(client: NodeRedisClient): Connection {
  const ending = endingOf(client, ['end'], () => !client.isOpen, false);
  const readiness = (): Readiness => nodeReadiness(client, ending.ended());
  const options = optionsOf(client);
  return {
    kind: 'node-redis',
    cluster: false,
    sentinel: false,
    keyPrefix: '',
    readiness,
    describeServer() {
      const options = client.options;
      if (options?.socket?.path !== undefined) return `Redis at ${options.socket.path}`;
      if (options?.socket?.host === undefined && options?.url !== undefined) {
        try {
          const url = new URL(options.url);
          return `Redis at ${address(url.hostname || undefined, Number(url.port) || undefined)}`;
        } catch {
          // An unparsable url: the socket's defaults below.
        }
      }
      return `Redis at ${address(options?.socket?.host, options?.socket?.port)}`;
    },
    call: (_key, args) => guarded(readiness, () => client.sendCommand(args, options)),
    async duplicate() {
      const copy = client.duplicate();
      copy.on('error', quiet);
      await copy.connect();
      return {
        call: (_key, args) => copy.sendCommand(args, options),
        onReady: (listener) => void copy.on('ready', listener),
        close: () => void copy.destroy(),
      };
    },
    subscriber: undefined,
    onEnd: ending.onEnd,
  };
}

function nodeRedisCluster(cluster: NodeRedisCluster): Connection {
  const ending = endingOf(cluster, ['disconnect'], () => !cluster.isOpen, false);
  const readiness = (): Readiness => nodeReadiness(cluster, ending.ended());
  const options = optionsOf(cluster);
  return {
    kind: 'node-redis',
    cluster: true,
    sentinel: false,
    keyPrefix: '',
    readiness,
    describeServer(key) {
      if (key !== undefined) {
        const master = cluster.slots?.[keySlot(key)]?.master;
        if (master !== undefined) return `Redis Cluster node ${address(master.host, master.port)}`;
      }
      const masters = (cluster.masters ?? []).map((node) => address(node.host, node.port));
      return `Redis Cluster (nodes ${list(masters)})`;
    },
    call: (key, args) =>
      guarded(readiness, async () => {
        // node-redis 6 sends WAIT to every master (its command policy), and to a stale one
        // after a failover: it must go to the master of the key just written, on its connection.
        if (key !== undefined && args[0]?.toUpperCase() === 'WAIT' && cluster.getNodeClientForKey) {
          const node = await cluster.getNodeClientForKey(key, false);
          return node.sendCommand(args, options);
        }
        return cluster.sendCommand(key, false, args, options);
      }),
    async duplicate() {
      const copy = cluster.duplicate();
      copy.on('error', quiet);
      await copy.connect();
      return {
        call: (key, args) => copy.sendCommand(key, false, args, options),
        onReady: (listener) => void copy.on('node-ready', listener),
        close: () => void copy.destroy(),
      };
    },
    subscriber:
      typeof cluster.sSubscribe === 'function' ? () => nodeRedisSubscriber(cluster) : undefined,
    onEnd: ending.onEnd,
  };
}

function nodeRedisSentinel(sentinel: NodeRedisSentinel): Connection {
  // node-redis 5's Sentinel client emits no 'end': its isOpen is polled.
  const ending = endingOf(sentinel, ['end'], () => !sentinel.isOpen, true);
  const readiness = (): Readiness => nodeReadiness(sentinel, ending.ended());
  const options = optionsOf(sentinel);
  return {
    kind: 'node-redis',
    cluster: false,
    sentinel: true,
    keyPrefix: '',
    readiness,
    describeServer() {
      // The master's name and the sentinels given are private to the client: name what it is using now.
      const master = nodeOf(() => sentinel.getMasterNode());
      const current = nodeOf(() => sentinel.getSentinelNode?.());
      return (
        `Sentinel master${master === undefined ? '' : ` at ${master}`}` +
        ` (sentinel ${current ?? 'not connected'})`
      );
    },
    call: (_key, args) => guarded(readiness, () => sentinel.sendCommand(false, args, options)),
    async duplicate() {
      if (typeof sentinel.duplicate !== 'function') return shared(sentinel, readiness);
      const copy = sentinel.duplicate();
      copy.on('error', quiet);
      await copy.connect();
      return {
        call: (_key, args) => copy.sendCommand(false, args, options),
        onReady: (listener) => void copy.on('ready', listener),
        close: () => void copy.destroy(),
      };
    },
    subscriber: undefined,
    onEnd: ending.onEnd,
  };
}

/** The longest block of a blocking read on a connection shared with the user's commands. */
const SHARED_BLOCK_MS = 50;

/**
 * shared is the blocking connection of a node-redis 5 Sentinel client,
 * which cannot duplicate itself: its own master connection, shared with
 * the user's commands, so a blocking read blocks for at most
 * `SHARED_BLOCK_MS` and re-checks come from the waker's next round.
 */
function shared(sentinel: NodeRedisSentinel, readiness: () => Readiness): Blocking {
  let open = true;
  return {
    call(_key, args) {
      if (!open) return Promise.reject(closedError());
      const capped = [...args];
      const at = capped.findIndex((arg) => arg.toUpperCase() === 'BLOCK');
      if (at !== -1 && Number(capped[at + 1]) > SHARED_BLOCK_MS)
        capped[at + 1] = String(SHARED_BLOCK_MS);
      return guarded(readiness, () => sentinel.sendCommand(false, capped, optionsOf(sentinel)));
    },
    onReady: (listener) => void sentinel.on('topology-change', listener),
    close() {
      open = false;
    },
  };
}

/** nodeOf reads a node-redis `{ host, port }` getter that throws while disconnected. */
function nodeOf(
  read: () => { readonly host?: string; readonly port?: number } | undefined,
): string | undefined {
  try {
    const node = read();
    return node === undefined ? undefined : address(node.host, node.port);
  } catch {
    return undefined;
  }
}

function ioredis(client: IORedis): Connection {
  const cluster = client.isCluster === true;
  const sentinel = !cluster && (client.options?.sentinels?.length ?? 0) > 0;
  const readiness = (): Readiness => {
    switch (client.status) {
      case 'ready':
        return 'ready';
      case 'wait':
        return 'lazy';
      case 'end':
        return 'closed';
      default:
        // ioredis 5's Cluster ends in 'close' after disconnect(), with manuallyClosing set.
        return client.status === 'close' && client.manuallyClosing === true
          ? 'closed'
          : 'connecting';
    }
  };
  const ending = endingOf(client, ['end'], () => readiness() === 'closed', false);
  const options = client.options ?? {};
  const call = (target: IORedis, args: readonly string[]): Promise<unknown> => {
    // ioredis 5's Cluster, disconnected, queues commands forever: refuse them at once.
    if (readiness() === 'closed') {
      return Promise.reject(new Error('Connection is closed.'));
    }
    const [command, ...rest] = args as [string, ...string[]];
    return target.call(command, ...rest);
  };
  /**
   * On a Cluster, ioredis sends a command without keys, like WAIT, to a
   * random node: WAIT must reach the master of the key just written.
   */
  const masterOf = (key: string | undefined, args: readonly string[]): IORedis => {
    if (!cluster || key === undefined || args[0]?.toUpperCase() !== 'WAIT') return client;
    const address = client.slots?.[keySlot(key)]?.[0];
    const node = client
      .nodes?.('master')
      .find((candidate) => `${candidate.options?.host}:${candidate.options?.port}` === address);
    return node ?? client;
  };
  return {
    kind: 'ioredis',
    cluster,
    sentinel,
    keyPrefix:
      (cluster ? (options.keyPrefix ?? options.redisOptions?.keyPrefix) : options.keyPrefix) ?? '',
    readiness,
    describeServer(key) {
      if (cluster) {
        if (key !== undefined) {
          const node = client.slots?.[keySlot(key)]?.[0];
          if (node !== undefined) return `Redis Cluster node ${node}`;
        }
        const nodes = (client.startupNodes ?? []).map((node) =>
          typeof node === 'string' ? node : address(node.host, node.port),
        );
        return `Redis Cluster (nodes ${list(nodes)})`;
      }
      if (sentinel) {
        const sentinels = (options.sentinels ?? []).map((node) => address(node.host, node.port));
        return `Sentinel master "${options.name ?? 'mymaster'}" (sentinels ${list(sentinels)})`;
      }
      return `Redis at ${options.path ?? address(options.host, options.port)}`;
    },
    call: (key, args) => call(masterOf(key, args), args),
    async duplicate() {
      const copy = client.duplicate();
      copy.on('error', quiet);
      return {
        call: (_key, args) => call(copy, args),
        onReady: (listener) => void copy.on('ready', listener),
        close: () => copy.disconnect(),
      };
    },
    // R21 within R10: one plain connection per master with a subscribed channel
    // (lib/redis/ioredis-subscriber.ts), which stands in for the blocking reads.
    subscriber:
      cluster && canSubscribe(client)
        ? async () => ioredisSubscriber(client as unknown as ShardedCluster)
        : undefined,
    onEnd: ending.onEnd,
  };
}

/**
 * nodeRedisSubscriber subscribes through the user's node-redis Cluster
 * itself: it opens one subscriber connection per master that holds a
 * subscribed channel, closes it when none is left, and re-subscribes after
 * a reconnect by itself.
 */
async function nodeRedisSubscriber(cluster: NodeRedisCluster): Promise<Subscriber> {
  const subscriptions = new Set<() => Promise<void>>();
  const events: [string, () => void][] = [];
  return {
    async subscribe(channel, onMessage) {
      const listener = (message: unknown): void => onMessage(String(message));
      await cluster.sSubscribe?.(channel, listener);
      const stop = async (): Promise<void> => {
        if (!subscriptions.delete(stop)) return;
        await cluster.sUnsubscribe?.(channel, listener);
      };
      subscriptions.add(stop);
      return stop;
    },
    onReconnect(listener) {
      // node-redis 6 emits 'node-ready' for every (re)connection of a node's
      // client; node-redis 5 only for its first, but 'node-reconnecting' for
      // each retry: the caller re-checks again later for it.
      events.push(
        ['node-ready', () => listener(true)],
        ['node-reconnecting', () => listener(false)],
      );
      for (const [event, handler] of events) cluster.on(event, handler);
    },
    close() {
      for (const [event, handler] of events.splice(0)) cluster.removeListener(event, handler);
      for (const stop of [...subscriptions]) stop().catch(quiet);
    },
  };
}

const CLOSED_MESSAGES = new Set([
  // node-redis: a command on a closed or never connected client.
  'The client is closed',
  // node-redis: commands pending when the user called destroy()/disconnect().
  'Disconnects client',
]);

/**
 * isClosed tells whether `error` says the user's client is closed or was
 * never connected: ioredis' 'Connection is closed.' only says so when the
 * client has ended (given `connection`), as it is also what a command
 * meets while ioredis reconnects.
 */
export function isClosed(error: unknown, connection?: Connection): boolean {
  if (!(error instanceof Error)) return false;
  if (CLOSED_MESSAGES.has(error.message) || error.name === 'ClientClosedError') return true;
  if (error.message.startsWith('Connection is closed')) {
    return connection?.readiness() === 'closed';
  }
  return false;
}

/** Redis error replies a failover, a restart or a moving slot send: the same call may succeed later. */
const TRANSIENT_REPLY =
  /^(LOADING|BUSY|TRYAGAIN|CLUSTERDOWN|MASTERDOWN|READONLY|MOVED|ASK|NOREPLICAS|UNBLOCKED|NOTBUSY|MASTER_LINK_DOWN)\b/;

/**
 * isTransient tells a failure worth retrying with the same operation id (a
 * dropped, refused or reset connection, a timeout, a server still loading
 * its data, a Cluster or Sentinel failing over) from one that will not
 * change: the user's client closed or never connected, a script error, a
 * missing permission, a programming error.
 */
export function isTransient(error: unknown, connection?: Connection): boolean {
  if (!(error instanceof Error)) return false;
  if (isClosed(error, connection)) return false;
  if (error instanceof TypeError || error instanceof RangeError || error instanceof SyntaxError) {
    return false;
  }
  const { message } = error;
  if (TRANSIENT_REPLY.test(message)) return true;
  // The command was aborted by its caller's signal: not a failure of Redis.
  if (error.name === 'AbortError' && message === 'The command was aborted') return false;
  // Any other Redis error reply (ERR, NOSCRIPT, NOPERM, WRONGTYPE, ...) starts with its code in capitals.
  return !/^[A-Z][A-Z_]+\b/.test(message);
}

/** keySlot is Redis Cluster's slot of `key`: CRC16 of its hash tag (or whole key) mod 16384. */
export function keySlot(key: string): number {
  let bytes = new TextEncoder().encode(key);
  const open = bytes.indexOf(0x7b);
  if (open !== -1) {
    const close = bytes.indexOf(0x7d, open + 1);
    if (close > open + 1) bytes = bytes.subarray(open + 1, close);
  }
  let crc = 0;
  for (const byte of bytes) {
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit++) {
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    }
  }
  return crc % 16384;
}
