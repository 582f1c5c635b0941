/**
 * Waker: the one blocking connection per Redis node of a process. Every
 * pending wait of every group of that process that was given the same
 * client is served by it, and a release it reads is handed to the groups
 * as a hint. A hint is never the truth: the groups re-check the state in
 * Redis after the connection comes back and at a bounded interval.
 *
 * On one server every release of every group under a key prefix also
 * rings one stream, the bell (`<prefix>releases`), so a single
 * `XREAD BLOCK` of one key serves any number of groups: a new wait needs no
 * new read (no `CLIENT UNBLOCK`, no `@admin` command), and the read costs
 * the same for one group as for ten thousand. Entries this process read
 * before a wait began watching are kept for a while and replayed to it.
 *
 * On a Cluster one command may only name keys of one slot, so the bell
 * cannot be used: a release is also published on the group's shard channel
 * `<prefix>{name}:release` (its own slot), and the waker subscribes to the
 * channel of each group that has a pending wait, on one subscriber client
 * (one connection per master), and unsubscribes when it has none. A
 * message published while the subscriber is disconnected is lost, so its
 * reconnect, and each new subscription once it is active, re-check the
 * groups. For a Cluster client that cannot subscribe to shard channels,
 * each group's own release stream gets its own read loop on the duplicate
 * Cluster client, which holds one connection per node: loops of streams on
 * the same node take turns on it, with a short block while more than one
 * is active.
 *
 * Nothing here ever throws into the process: a failed read, a reply of an
 * unknown shape or a closed client becomes a re-check or a close.
 *
 * The connection is opened with the first watched stream and closed when
 * the last one is unwatched, so a process with no pending wait holds none.
 *
 * @module
 */

import type { Blocking, Connection, Subscriber } from './client.js';

/** What a waker tells a watching group. */
export interface Watcher {
  /** A release of the group: the generation it released. */
  released(gen: number): void;
  /** The blocking connection failed, came back or sent something unexpected: re-check the state. */
  recheck(): void;
  /** The user closed the client. */
  closed(): void;
}

interface Stream {
  lastId: string;
  readonly watchers: Set<Watcher>;
  /** Cluster with a subscriber: the subscription to the group's channel, once active its stop. */
  subscription?: Promise<(() => Promise<void>) | undefined>;
}

/** One release read from the bell. */
interface Rung {
  readonly id: string;
  readonly topic: string;
  readonly gen: number;
}

/** How long one read of the bell blocks: a new wait does not need a new read. */
const BELL_BLOCK_MS = 10_000;
const IDLE_BLOCK_MS = 1000;
/** How many releases read from the bell are kept for waits that start watching late. */
const KEPT = 1024;
/**
 * How long the blocking connection outlives the last pending wait of the
 * process. Closing it costs the client about 100 µs of CPU; done at once,
 * that work ran while the other processes on the machine were resuming
 * their released waits (bench, 2 cores, the last done() → 4 processes
 * resumed: 2.2–2.5 × (x) with node-redis, 1.4–1.5 × without the close). A
 * wait that comes meanwhile reuses the connection.
 */
const LINGER_MS = 20;
const SHARED_BLOCK_MS = 100;
const RETRY_MS = 100;
/**
 * After a subscriber connection said it failed, the groups are re-checked
 * at once and again after these delays: a client may say it is
 * reconnecting but not when it is subscribed again (node-redis 5).
 */
const RESUBSCRIBED_MS = [1000, 3000];

const wakers = new WeakMap<object, Map<string, Waker>>();

/** wakerOf returns the process' waker for the user's `client` and key prefix. */
export function wakerOf(client: object, connection: Connection, prefix: string): Waker {
  let byPrefix = wakers.get(client);
  if (byPrefix === undefined) {
    byPrefix = new Map();
    wakers.set(client, byPrefix);
  }
  let waker = byPrefix.get(prefix);
  if (waker === undefined) {
    waker = new Waker(connection, `${prefix}releases`);
    byPrefix.set(prefix, waker);
  }
  return waker;
}

/** topicOf names a group on the bell: its state key and its epoch. */
export function topicOf(stateKey: string, epoch: string): string {
  return `${stateKey}\u0000${epoch}`;
}

/** Waker multiplexes the pending waits of a process onto one blocking connection per node. */
export class Waker {
  /** The bell's key, which one server's groups pass to their scripts. */
  readonly bell: string;
  readonly #connection: Connection;
  /** Cluster: the watched release streams. One server: the watched topics of the bell. */
  readonly #streams = new Map<string, Stream>();
  #bellId: string | undefined;
  readonly #rungs: Rung[] = [];
  #blocking: Promise<Blocking> | undefined;
  #subscriber: Promise<Subscriber> | undefined;
  #resubscribed: ReturnType<typeof setTimeout>[] = [];
  #loops = 0;
  #running = false;
  #closed = false;
  #idle: ReturnType<typeof setTimeout> | undefined;

  /**
   * @param connection - the user's client, for commands that must not block
   * @param bell - the key of the bell of the groups it serves
   */
  constructor(connection: Connection, bell: string) {
    this.#connection = connection;
    this.bell = bell;
    connection.onEnd(() => this.#ended());
  }

  /** The number of streams (Cluster) or groups (one server) watched now. */
  get watched(): number {
    return this.#streams.size;
  }

  /** Whether the user closed the client. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * watch delivers the releases after `lastId` of stream `key` (Cluster) or
   * of topic `key` on the bell (one server) to `watcher` until the returned
   * function is called.
   */
  watch(key: string, lastId: string, watcher: Watcher): () => void {
    let stream = this.#streams.get(key);
    const fresh = stream === undefined;
    if (stream === undefined) {
      stream = { lastId, watchers: new Set() };
      this.#streams.set(key, stream);
    } else if (compareIds(lastId, stream.lastId) < 0) {
      stream.lastId = lastId;
    }
    stream.watchers.add(watcher);
    if (this.#connection.cluster) {
      if (fresh) {
        // A Cluster client without sharded pub/sub reads the stream.
        if (this.#connection.subscriber !== undefined) this.#listen(key, stream);
        else this.#follow(key);
      }
    } else {
      this.#replay(key, lastId, watcher);
      if (!this.#running) {
        this.#running = true;
        this.#loop(undefined).catch(() => {});
      }
    }
    const watched = stream;
    return () => {
      watched.watchers.delete(watcher);
      if (watched.watchers.size === 0 && this.#streams.get(key) === watched) {
        this.#streams.delete(key);
        watched.subscription
          ?.then((stop) => stop?.())
          .catch(() => {
            // A subscriber that failed or closed has no subscription left.
          });
        if (this.#streams.size === 0) this.#closeWhenIdle();
      }
    };
  }

  /**
   * replay hands a new watcher of the bell the releases this process read
   * after `lastId` before it watched, or a re-check if they are no longer
   * kept.
   */
  #replay(topic: string, lastId: string, watcher: Watcher): void {
    if (this.#bellId === undefined) {
      this.#bellId = lastId;
      return;
    }
    if (compareIds(lastId, this.#bellId) >= 0) return;
    const oldest = this.#rungs[0];
    const complete = oldest !== undefined && compareIds(oldest.id, lastId) <= 0;
    const missed = this.#rungs.filter(
      (rung) => rung.topic === topic && compareIds(rung.id, lastId) > 0,
    );
    queueMicrotask(() => {
      try {
        for (const rung of missed) watcher.released(rung.gen);
        if (!complete) watcher.recheck();
      } catch {
        // A watcher's failure is its own.
      }
    });
  }

  /** follow starts a read loop of one group's release stream (Cluster). */
  #follow(key: string): void {
    this.#loops++;
    this.#loop([key]).catch(() => {});
  }

  /**
   * listen subscribes to the release channel of group stream `key`
   * (`<prefix>{name}:events` → `<prefix>{name}:release`, with the client's
   * own key prefix, which the script's key carries). Once the subscription
   * is active the group is re-checked: a release may have come before. If
   * it cannot subscribe (an ACL user without the channel), it reads the
   * stream instead.
   */
  #listen(key: string, stream: Stream): void {
    const channel = `${this.#connection.keyPrefix}${key.replace(/:events$/, '')}:release`;
    const subscription = this.#openSubscriber().then((subscriber) =>
      subscriber.subscribe(channel, (message) => {
        if (this.#streams.get(key) === stream) this.#tell(stream, Number(message));
      }),
    );
    stream.subscription = subscription.then(
      (stop) => stop,
      () => undefined,
    );
    subscription.then(
      (stop) => {
        if (this.#streams.get(key) === stream) this.#recheckStream(stream);
        else stop().catch(() => {});
      },
      () => {
        if (this.#streams.get(key) === stream && !this.#closed) this.#follow(key);
      },
    );
  }

  #openSubscriber(): Promise<Subscriber> {
    const open = this.#connection.subscriber;
    if (open === undefined) return Promise.reject(new Error('no subscriber'));
    if (this.#subscriber === undefined) {
      const opening = open().then((subscriber) => {
        subscriber.onReconnect((subscribed) => this.#reconnected(subscribed));
        return subscriber;
      });
      opening.catch(() => {
        if (this.#subscriber === opening) this.#subscriber = undefined;
      });
      this.#subscriber = opening;
    }
    return this.#subscriber;
  }

  /** reconnected: a subscriber connection failed or came back; messages may have been lost. */
  #reconnected(subscribed: boolean): void {
    this.#recheckAll();
    for (const timer of this.#resubscribed) clearTimeout(timer);
    this.#resubscribed = [];
    if (subscribed) return;
    this.#resubscribed = RESUBSCRIBED_MS.map((ms) => {
      const timer = setTimeout(() => this.#recheckAll(), ms);
      timer.unref();
      return timer;
    });
  }

  #open(): Promise<Blocking> {
    if (this.#blocking === undefined) {
      const opening = this.#connection.duplicate().then((blocking) => {
        blocking.onReady(() => this.#recheckAll());
        return blocking;
      });
      opening.catch(() => {
        if (this.#blocking === opening) this.#blocking = undefined;
      });
      this.#blocking = opening;
    }
    return this.#blocking;
  }

  /**
   * closeWhenIdle closes the blocking connection {@link LINGER_MS} after the
   * last watched stream was unwatched, unless a new wait has come meanwhile.
   */
  #closeWhenIdle(): void {
    const blocking = this.#blocking;
    const subscriber = this.#subscriber;
    if (blocking === undefined && subscriber === undefined) return;
    clearTimeout(this.#idle);
    this.#idle = setTimeout(() => {
      if (this.#streams.size > 0) return;
      if (this.#blocking === blocking && this.#subscriber === subscriber) this.#close();
    }, LINGER_MS);
    // The open connection keeps the process alive until then, not the timer.
    this.#idle.unref();
  }

  #close(): void {
    clearTimeout(this.#idle);
    for (const timer of this.#resubscribed) clearTimeout(timer);
    this.#resubscribed = [];
    closeQuietly(this.#subscriber);
    this.#subscriber = undefined;
    closeQuietly(this.#blocking);
    this.#blocking = undefined;
  }

  /** ended: the user closed the client; every watcher hears it once. */
  #ended(): void {
    this.#closed = true;
    this.#close();
    const watchers = new Set<Watcher>();
    for (const stream of this.#streams.values()) for (const w of stream.watchers) watchers.add(w);
    this.#streams.clear();
    for (const watcher of watchers) {
      try {
        watcher.closed();
      } catch {
        // A watcher's failure is its own.
      }
    }
  }

  /**
   * One read loop: the bell (one server) or the given streams (Cluster).
   * It ends when none of its streams is watched any more.
   */
  async #loop(only: readonly string[] | undefined): Promise<void> {
    let failed = false;
    for (;;) {
      if (this.#closed) break;
      let reply: unknown;
      try {
        const blocking = await this.#open();
        let keys: string[];
        let ids: string[];
        let block: number;
        if (only === undefined) {
          if (this.#streams.size === 0) break;
          keys = [this.bell];
          ids = [this.#bellId ?? '$'];
          block = BELL_BLOCK_MS;
        } else {
          keys = only.filter((key) => this.#streams.has(key));
          if (keys.length === 0) break;
          ids = keys.map((key) => (this.#streams.get(key) as Stream).lastId);
          block = this.#loops > 1 ? SHARED_BLOCK_MS : IDLE_BLOCK_MS;
        }
        const args = ['XREAD', 'COUNT', '1000', 'BLOCK', String(block), 'STREAMS', ...keys, ...ids];
        reply = await blocking.call(keys[0], args);
        if (failed) this.#recheckAll();
        failed = false;
      } catch {
        if (!failed) this.#recheckAll();
        failed = true;
        if (this.#streams.size === 0 || this.#closed) break;
        await delay(RETRY_MS);
        continue;
      }
      if (only === undefined) this.#ring(reply);
      else this.#deliver(reply);
    }
    if (only === undefined) {
      this.#running = false;
      if (this.#streams.size === 0) {
        this.#bellId = undefined;
        this.#rungs.length = 0;
      } else if (!this.#closed) {
        // A wait came while the loop was ending.
        this.#running = true;
        this.#loop(undefined).catch(() => {});
      }
    } else {
      this.#loops--;
    }
  }

  /** ring hands the releases read from the bell to the watchers of their groups. */
  #ring(reply: unknown): void {
    const streams = streamsOf(reply, this.#connection.keyPrefix);
    if (streams === undefined) {
      this.#recheckAll();
      return;
    }
    const prefix = this.#connection.keyPrefix;
    for (const [, entries] of streams) {
      for (const [id, fields] of entries) {
        if (this.#bellId === undefined || compareIds(id, this.#bellId) > 0) this.#bellId = id;
        let key = String(fieldOf(fields, 'k'));
        if (prefix !== '' && key.startsWith(prefix)) key = key.slice(prefix.length);
        const topic = topicOf(key, String(fieldOf(fields, 'e')));
        const gen = Number(fieldOf(fields, 'gen'));
        this.#rungs.push({ id, topic, gen });
        if (this.#rungs.length > KEPT) this.#rungs.shift();
        const stream = this.#streams.get(topic);
        if (stream === undefined) continue;
        if (compareIds(id, stream.lastId) > 0) stream.lastId = id;
        this.#tell(stream, gen);
      }
    }
  }

  #deliver(reply: unknown): void {
    const streams = streamsOf(reply, this.#connection.keyPrefix);
    if (streams === undefined) {
      this.#recheckAll();
      return;
    }
    for (const [key, entries] of streams) {
      const stream = this.#streams.get(key);
      if (stream === undefined) continue;
      for (const [id, fields] of entries) {
        if (compareIds(id, stream.lastId) > 0) stream.lastId = id;
        this.#tell(stream, Number(fieldOf(fields, 'gen')));
      }
    }
  }

  #tell(stream: Stream, gen: number): void {
    for (const watcher of [...stream.watchers]) {
      try {
        if (Number.isSafeInteger(gen)) watcher.released(gen);
        else watcher.recheck();
      } catch {
        // A watcher's failure is its own.
      }
    }
  }

  #recheckStream(stream: Stream): void {
    for (const watcher of [...stream.watchers]) {
      try {
        watcher.recheck();
      } catch {
        // A watcher's failure is its own.
      }
    }
  }

  #recheckAll(): void {
    for (const stream of [...this.#streams.values()]) this.#recheckStream(stream);
  }
}

/** closeQuietly closes a connection once it is open; one that failed to open, or is closed, is left. */
function closeQuietly(opening: Promise<{ close(): void }> | undefined): void {
  opening?.then(
    (connection) => {
      try {
        connection.close();
      } catch {
        // Already closed.
      }
    },
    () => {},
  );
}

type Entries = [string, unknown][];

/**
 * streamsOf reads an XREAD reply as [key, [id, fields][]] pairs, whatever
 * shape the client gave it: RESP2 arrays, RESP3 maps, a Map or a plain
 * object (node-redis type mappings), one stream as a bare [key, entries]
 * pair, entries as [id, fields] or { id, message }, Buffers for strings.
 * `keyPrefix`, added by the client to every key, is taken off. It returns
 * undefined for a shape it does not know: the caller re-checks.
 */
export function streamsOf(reply: unknown, keyPrefix = ''): [string, Entries][] | undefined {
  if (reply === null || reply === undefined) return [];
  let pairs: unknown[];
  if (Array.isArray(reply)) {
    // One stream may come as a bare [key, entries] pair.
    pairs = reply.length === 2 && isText(reply[0]) && Array.isArray(reply[1]) ? [reply] : reply;
  } else if (reply instanceof Map) {
    pairs = [...reply.entries()];
  } else if (typeof reply === 'object') {
    pairs = Object.entries(reply);
  } else {
    return undefined;
  }
  const streams: [string, Entries][] = [];
  for (const pair of pairs) {
    let key: unknown;
    let raw: unknown;
    if (Array.isArray(pair) && pair.length === 2) {
      [key, raw] = pair;
    } else if (typeof pair === 'object' && pair !== null && 'name' in pair) {
      key = (pair as { name: unknown }).name;
      raw = (pair as { messages?: unknown }).messages;
    } else {
      return undefined;
    }
    if (!isText(key)) return undefined;
    const entries = entriesOf(raw);
    if (entries === undefined) return undefined;
    let name = String(key);
    if (keyPrefix !== '' && name.startsWith(keyPrefix)) name = name.slice(keyPrefix.length);
    streams.push([name, entries]);
  }
  return streams;
}

function entriesOf(raw: unknown): Entries | undefined {
  let list: unknown[];
  if (Array.isArray(raw)) list = raw;
  else if (raw instanceof Map) list = [...raw.entries()];
  else if (raw === null || raw === undefined) return [];
  else return undefined;
  const entries: Entries = [];
  for (const entry of list) {
    if (Array.isArray(entry) && isText(entry[0])) {
      entries.push([String(entry[0]), entry[1]]);
    } else if (
      typeof entry === 'object' &&
      entry !== null &&
      isText((entry as { id?: unknown }).id)
    ) {
      entries.push([
        String((entry as { id: unknown }).id),
        (entry as { message?: unknown }).message,
      ]);
    } else {
      return undefined;
    }
  }
  return entries;
}

function isText(value: unknown): value is string | Uint8Array {
  return typeof value === 'string' || value instanceof Uint8Array;
}

function fieldOf(fields: unknown, name: string): unknown {
  if (Array.isArray(fields)) {
    for (let i = 0; i + 1 < fields.length; i += 2)
      if (String(fields[i]) === name) return String(fields[i + 1]);
    return undefined;
  }
  if (fields instanceof Map) {
    for (const [field, value] of fields) if (String(field) === name) return String(value);
    return undefined;
  }
  if (typeof fields === 'object' && fields !== null) {
    const value = (fields as Record<string, unknown>)[name];
    return value === undefined ? undefined : String(value);
  }
  return undefined;
}

/** compareIds orders stream ids `ms-seq` numerically. */
export function compareIds(a: string, b: string): number {
  const [am = 0, as = 0] = a.split('-').map(Number);
  const [bm = 0, bs = 0] = b.split('-').map(Number);
  return am - bm || as - bs;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
