/**
 * The shard-channel subscriber of an ioredis 5 or 6 (or iovalkey) Cluster:
 * one plain connection per master that holds a subscribed channel, made
 * from that master's own connection (`duplicate()`: its host, port, auth,
 * TLS and protocol), and closed when its last channel is unsubscribed.
 * A channel goes to the master of its slot in the Cluster's slot map.
 *
 * ioredis' own sharded subscribers (`shardedSubscribers: true`) are not
 * used: a duplicate Cluster holds one more connection for its slot map
 * than one per node, and the user's Cluster made that way parked more
 * connections than it has masters.
 *
 * A connection is never reconnected in place: when it ends, fails, is told
 * its channels moved (a `MOVED` reply, or the server's own `sunsubscribe`
 * when a failover or a resharding takes its slots, which ioredis 6 reports
 * as 'moved' and ioredis 5 and iovalkey as a command queue error), or when
 * the Cluster's refreshed slot map gives one of its channels to another
 * master, it is closed, `onReconnect(false)` is said, the slot map is
 * refreshed and its channels are subscribed again where the map now puts
 * them, with a growing delay between attempts; `onReconnect(true)` is said
 * once every channel is subscribed again.
 *
 * @module
 */

import { keySlot, type Subscriber } from './client.js';

interface Emitter {
  on(event: string, listener: (...args: never[]) => void): unknown;
  removeListener(event: string, listener: (...args: never[]) => void): unknown;
}

/** One node connection of an ioredis Cluster's pool, or a plain one made from it. */
interface NodeConnection extends Emitter {
  readonly options?: { readonly host?: string; readonly port?: number };
  duplicate(override?: object): NodeConnection;
  connect(): Promise<unknown>;
  ssubscribe(channel: string): Promise<unknown>;
  sunsubscribe(channel: string): Promise<unknown>;
  disconnect(): void;
}

/** What this subscriber uses of an ioredis 5 or 6 (or iovalkey) Cluster. */
export interface ShardedCluster extends Emitter {
  readonly status: string;
  readonly manuallyClosing?: boolean;
  /** Per slot, the node keys ("host:port") that serve it, the master first. */
  readonly slots?: readonly (readonly string[] | undefined)[];
  nodes(role: 'master'): readonly NodeConnection[];
  refreshSlotsCache?(callback?: (error?: unknown) => void): void;
}

/** canSubscribe tells whether `cluster` is an ioredis Cluster whose connections can subscribe to shard channels. */
export function canSubscribe(cluster: object): cluster is ShardedCluster {
  const methods = cluster as Record<string, unknown>;
  return typeof methods.nodes === 'function' && typeof methods.ssubscribe === 'function';
}

/** ioredisSubscriber subscribes to shard channels of `cluster` on its own connections. */
export function ioredisSubscriber(cluster: ShardedCluster): Subscriber {
  return new ClusterSubscriber(cluster);
}

/** How long an SSUBSCRIBE may go unanswered (ioredis 5 never settles one answered by MOVED). */
const SUBSCRIBE_MS = 10_000;
/** The delays before placing the channels of a lost connection again: doubling from the first to the last. */
const RETRY_FIRST_MS = 50;
const RETRY_LAST_MS = 2000;
/** How long a slot map refresh is waited for before the channels are placed on the map as it is. */
const REFRESH_MS = 1000;

const quiet = (): void => {};

/** One connection to a master. */
interface Shard {
  /** The master's node key, "host:port", as in the Cluster's slot map. */
  readonly key: string;
  readonly connection: NodeConnection;
  /** Resolves once the connection is ready. */
  readonly ready: Promise<unknown>;
  /** The channels placed on it: subscribed, or being subscribed. */
  readonly channels: Set<string>;
  lost: boolean;
}

/** One subscribed channel and everyone listening to it. */
interface Channel {
  readonly name: string;
  readonly slot: number;
  readonly listeners: Set<(message: string) => void>;
  /** The connection it is placed on, if any. */
  shard: Shard | undefined;
  /** Calls of subscribe() waiting for its subscription to be active. */
  readonly waiting: { resolve(): void; reject(error: unknown): void }[];
}

class ClusterSubscriber implements Subscriber {
  readonly #cluster: ShardedCluster;
  readonly #channels = new Map<string, Channel>();
  /** The channels not subscribed now: new ones and those of a lost connection. */
  readonly #unsubscribed = new Set<Channel>();
  readonly #shards = new Map<string, Shard>();
  readonly #listeners: ((subscribed: boolean) => void)[] = [];
  /** Whether every channel that was subscribed still is (else onReconnect(true) is due). */
  #whole = true;
  #retry: ReturnType<typeof setTimeout> | undefined;
  #attempts = 0;
  #closed = false;
  readonly #refreshed = (): void => this.#follow();

  constructor(cluster: ShardedCluster) {
    this.#cluster = cluster;
    cluster.on('refresh', this.#refreshed);
  }

  subscribe(name: string, onMessage: (message: string) => void): Promise<() => Promise<void>> {
    if (this.#closed) return Promise.reject(new Error('the subscriber was closed'));
    let channel = this.#channels.get(name);
    if (channel === undefined) {
      channel = { name, slot: keySlot(name), listeners: new Set(), shard: undefined, waiting: [] };
      this.#channels.set(name, channel);
      this.#unsubscribed.add(channel);
      this.#place(channel);
    }
    const listener = (message: string): void => onMessage(message);
    channel.listeners.add(listener);
    const subscribed = channel;
    const stop = async (): Promise<void> => this.#stop(subscribed, listener);
    if (!this.#unsubscribed.has(channel)) return Promise.resolve(stop);
    return new Promise<void>((resolve, reject) =>
      subscribed.waiting.push({ resolve, reject }),
    ).then(
      () => stop,
      (error: unknown) => {
        subscribed.listeners.delete(listener);
        throw error;
      },
    );
  }

  onReconnect(listener: (subscribed: boolean) => void): void {
    this.#listeners.push(listener);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#retry);
    this.#cluster.removeListener('refresh', this.#refreshed);
    for (const shard of [...this.#shards.values()]) this.#drop(shard);
    const error = new Error('the subscriber was closed');
    for (const channel of this.#channels.values()) {
      for (const waiting of channel.waiting.splice(0)) waiting.reject(error);
    }
    this.#channels.clear();
    this.#unsubscribed.clear();
  }

  /** stop removes `listener`; the channel's last listener unsubscribes it. */
  async #stop(channel: Channel, listener: (message: string) => void): Promise<void> {
    if (!channel.listeners.delete(listener) || channel.listeners.size > 0) return;
    if (this.#channels.get(channel.name) !== channel) return;
    this.#channels.delete(channel.name);
    this.#unsubscribed.delete(channel);
    const shard = channel.shard;
    channel.shard = undefined;
    if (shard === undefined || shard.lost) return;
    shard.channels.delete(channel.name);
    // No pending wait on that master: no connection to it.
    if (shard.channels.size === 0) {
      this.#drop(shard);
      return;
    }
    // Sent after its SSUBSCRIBE (sent once the connection is ready) and before any later one.
    await shard.ready.then(() => shard.connection.sunsubscribe(channel.name)).catch(quiet);
  }

  /**
   * place subscribes `channel` on the connection to the master of its slot.
   * Without a slot map or that master's connection yet, it tries again later.
   */
  #place(channel: Channel): void {
    if (this.#closed || channel.shard !== undefined) return;
    if (this.#channels.get(channel.name) !== channel) return;
    const key = this.#cluster.slots?.[channel.slot]?.[0];
    const shard = key === undefined ? undefined : this.#shardOf(key);
    if (shard === undefined) {
      this.#later(true);
      return;
    }
    channel.shard = shard;
    shard.channels.add(channel.name);
    shard.ready
      .then(() => bounded(shard.connection.ssubscribe(channel.name), SUBSCRIBE_MS))
      .then(
        () => {
          if (channel.shard !== shard || shard.lost) return;
          this.#unsubscribed.delete(channel);
          for (const waiting of channel.waiting.splice(0)) waiting.resolve();
          this.#settle();
        },
        (error: unknown) => {
          if (channel.shard !== shard || shard.lost) return;
          if (refused(error)) this.#refuse(channel, error);
          else this.#lose(shard);
        },
      );
  }

  /** shardOf returns the connection to master `key`, opening it if needed. */
  #shardOf(key: string): Shard | undefined {
    const open = this.#shards.get(key);
    if (open !== undefined) return open;
    let node: NodeConnection | undefined;
    try {
      node = this.#cluster.nodes('master').find((candidate) => keyOf(candidate) === key);
    } catch {
      node = undefined;
    }
    if (node === undefined) return undefined;
    const connection = node.duplicate({
      lazyConnect: true,
      // A lost connection is replaced (maybe by one to another master), never reconnected.
      retryStrategy: null,
      reconnectOnError: null,
      autoResubscribe: false,
      enableOfflineQueue: true,
      readOnly: false,
    });
    const ready = connection.connect();
    const shard: Shard = { key, connection, ready, channels: new Set(), lost: false };
    this.#shards.set(key, shard);
    // Any error of the connection (refused, reset, a reply it could not match to a
    // command: the server's own sunsubscribe with ioredis 5 and iovalkey) ends it.
    connection.on('error', () => this.#lose(shard));
    connection.on('end', () => this.#lose(shard));
    connection.on('moved', () => this.#lose(shard));
    connection.on('smessage', (name: string, message: string) => {
      if (!shard.lost) this.#message(name, message);
    });
    ready.catch(() => this.#lose(shard));
    return shard;
  }

  #message(name: string, message: string): void {
    const channel = this.#channels.get(name);
    if (channel === undefined) return;
    for (const listener of [...channel.listeners]) {
      try {
        listener(message);
      } catch {
        // A listener's failure is its own.
      }
    }
  }

  /** drop closes a connection that is not wanted any more. */
  #drop(shard: Shard): void {
    shard.lost = true;
    if (this.#shards.get(shard.key) === shard) this.#shards.delete(shard.key);
    try {
      shard.connection.disconnect();
    } catch {
      // Already closed.
    }
  }

  /**
   * lose replaces a connection that failed or whose channels may have
   * moved: messages published meanwhile are lost, so the caller hears it,
   * and its channels are placed again after a refresh of the slot map.
   */
  #lose(shard: Shard): void {
    if (shard.lost || this.#closed) return;
    this.#drop(shard);
    let subscribed = false;
    for (const name of shard.channels) {
      const channel = this.#channels.get(name);
      if (channel?.shard !== shard) continue;
      channel.shard = undefined;
      if (!this.#unsubscribed.has(channel)) subscribed = true;
      this.#unsubscribed.add(channel);
    }
    shard.channels.clear();
    if (subscribed && this.#whole) {
      this.#whole = false;
      this.#tell(false);
    }
    this.#later(true);
  }

  /** refuse gives up a channel the server will not let this client subscribe to (an ACL user without it). */
  #refuse(channel: Channel, error: unknown): void {
    const shard = channel.shard;
    channel.shard = undefined;
    shard?.channels.delete(channel.name);
    if (this.#channels.get(channel.name) === channel) this.#channels.delete(channel.name);
    this.#unsubscribed.delete(channel);
    for (const waiting of channel.waiting.splice(0)) waiting.reject(error);
    if (shard !== undefined && shard.channels.size === 0) this.#drop(shard);
    this.#settle();
  }

  /** settle says `onReconnect(true)` once every channel is subscribed again after a loss. */
  #settle(): void {
    if (this.#unsubscribed.size > 0) return;
    this.#attempts = 0;
    if (this.#whole) return;
    this.#whole = true;
    this.#tell(true);
  }

  #tell(subscribed: boolean): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener(subscribed);
      } catch {
        // A listener's failure is its own.
      }
    }
  }

  /** later places the channels that have no connection after a delay, refreshing the slot map first. */
  #later(refresh: boolean): void {
    if (this.#retry !== undefined || this.#closed) return;
    const ms = Math.min(RETRY_FIRST_MS * 2 ** this.#attempts, RETRY_LAST_MS);
    this.#attempts++;
    this.#retry = setTimeout(() => {
      if (this.#closed) return;
      // Only a ready Cluster is asked: a refresh that lands while the user closes it
      // would open node connections that its quit() never closes.
      if (
        !refresh ||
        this.#cluster.status !== 'ready' ||
        typeof this.#cluster.refreshSlotsCache !== 'function'
      ) {
        this.#retry = undefined;
        this.#placeAll();
        return;
      }
      // The placing waits for the refresh, bounded: a Cluster reconnecting may not answer.
      let done = false;
      const place = (): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        this.#retry = undefined;
        this.#placeAll();
      };
      const timer = setTimeout(place, REFRESH_MS);
      timer.unref();
      this.#retry = timer;
      try {
        this.#cluster.refreshSlotsCache(() => place());
      } catch {
        place();
      }
    }, ms);
    // The open connections keep the process alive, not the timer.
    this.#retry.unref();
  }

  #placeAll(): void {
    const { status, manuallyClosing } = this.#cluster;
    // The user closed the Cluster (ioredis 5 ends in 'close'): the waker closes this subscriber.
    if (status === 'end' || (status === 'close' && manuallyClosing === true) || this.#closed)
      return;
    for (const channel of [...this.#unsubscribed]) this.#place(channel);
  }

  /**
   * follow checks the Cluster's refreshed slot map: a connection with a
   * channel the map now gives to another master is replaced.
   */
  #follow(): void {
    if (this.#closed) return;
    const slots = this.#cluster.slots;
    for (const shard of [...this.#shards.values()]) {
      for (const name of shard.channels) {
        const channel = this.#channels.get(name);
        if (channel !== undefined && slots?.[channel.slot]?.[0] !== shard.key) {
          this.#lose(shard);
          break;
        }
      }
    }
    // Channels waiting for a slot map or a node connection: the map is here now.
    if (this.#unsubscribed.size > 0) this.#later(false);
  }
}

/** keyOf is the node key of a Cluster node connection, as its slot map names it. */
function keyOf(node: NodeConnection): string {
  return `${node.options?.host ?? '127.0.0.1'}:${node.options?.port ?? 6379}`;
}

/**
 * refused tells an error reply that will not change by trying again (NOPERM,
 * an unknown command) from a connection that failed or a slot that moved.
 */
function refused(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (/^(MOVED|ASK|TRYAGAIN|CLUSTERDOWN|LOADING|MASTERDOWN|BUSY)\b/.test(error.message))
    return false;
  return /^[A-Z][A-Z_]+\b/.test(error.message);
}

/** bounded is `promise`, or a rejection after `ms`. */
function bounded<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no reply within ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}
