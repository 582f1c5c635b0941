/**
 * Waker: the one blocking connection per Redis node of a process.
 * Every pending wait of every group of that process that was given the same
 * client is served by it: it reads the groups' release streams with
 * `XREAD BLOCK` and hands each entry to the groups as a hint. A hint is
 * never the truth: the groups re-check the state in Redis after the
 * connection comes back and at least every second.
 *
 * On one server a single `XREAD` covers every stream. On a Cluster one
 * command may only name keys of one slot, so each stream gets its own read
 * loop on the duplicate Cluster client, which holds one connection per
 * node: loops of streams on the same node take turns on it, with a short
 * block while more than one is active.
 *
 * The connection is opened with the first watched stream and closed when
 * the last one is unwatched, so a process with no pending wait holds none.
 *
 * @module
 */

import type { Blocking, Connection } from './client.js';

/** What a waker tells a watching group. */
export interface Watcher {
  /** A release entry of the group's stream: the generation it released. */
  released(gen: number): void;
  /** The blocking connection failed or came back: re-check the state. */
  recheck(): void;
}

interface Stream {
  lastId: string;
  readonly watchers: Set<Watcher>;
}

const IDLE_BLOCK_MS = 1000;
/**
 * How long the blocking connection outlives the last pending wait of the
 * process. Closing it costs the client about 100 µs of CPU; done at
 * once, that work ran while the other processes on the machine were
 * resuming their released waits (bench, 2 cores, the last done() → 4
 * processes resumed: 2.2–2.5 × (x) with node-redis, 1.4–1.5 × without the
 * close). A wait that comes meanwhile reuses the connection.
 */
const LINGER_MS = 20;
const SHARED_BLOCK_MS = 100;
const RETRY_MS = 100;

const wakers = new WeakMap<object, Waker>();

/** wakerOf returns the process' waker for the user's `client`. */
export function wakerOf(client: object, connection: Connection): Waker {
  let waker = wakers.get(client);
  if (waker === undefined) {
    waker = new Waker(connection);
    wakers.set(client, waker);
  }
  return waker;
}

/** Waker multiplexes the pending waits of a process onto one blocking connection per node. */
export class Waker {
  readonly #connection: Connection;
  readonly #streams = new Map<string, Stream>();
  #blocking: Promise<Blocking> | undefined;
  #clientId: string | undefined;
  #loops = 0;
  #running = false;
  #idle: ReturnType<typeof setTimeout> | undefined;

  /** @param connection - the user's client, for commands that must not block */
  constructor(connection: Connection) {
    this.#connection = connection;
    connection.onEnd(() => this.#close());
  }

  /** The number of streams watched now. */
  get watched(): number {
    return this.#streams.size;
  }

  /**
   * watch delivers the entries of stream `key` after `lastId` to `watcher`
   * until the returned function is called.
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
    if (fresh) this.#started(key);
    const watched = stream;
    return () => {
      watched.watchers.delete(watcher);
      if (watched.watchers.size === 0 && this.#streams.get(key) === watched) {
        this.#streams.delete(key);
        if (this.#streams.size === 0) this.#closeWhenIdle();
      }
    };
  }

  #started(key: string): void {
    if (this.#connection.cluster) {
      this.#loops++;
      void this.#loop([key]);
    } else if (!this.#running) {
      this.#running = true;
      void this.#loop(undefined);
    } else {
      void this.#interrupt();
    }
  }

  #open(): Promise<Blocking> {
    if (this.#blocking === undefined) {
      const opening = this.#connection.duplicate().then((blocking) => {
        blocking.onReady(() => {
          this.#clientId = undefined;
          this.#recheckAll();
        });
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
   * closeWhenIdle closes the blocking connection `LINGER_MS` after the
   * last watched stream was unwatched, unless a new wait has come meanwhile.
   */
  #closeWhenIdle(): void {
    const blocking = this.#blocking;
    if (blocking === undefined) return;
    clearTimeout(this.#idle);
    this.#idle = setTimeout(() => {
      if (this.#blocking === blocking && this.#streams.size === 0) this.#close();
    }, LINGER_MS);
    // The open connection keeps the process alive until then, not the timer.
    this.#idle.unref();
  }

  #close(): void {
    clearTimeout(this.#idle);
    const blocking = this.#blocking;
    this.#blocking = undefined;
    this.#clientId = undefined;
    blocking?.then(
      (connection) => connection.close(),
      () => {},
    );
  }

  /**
   * On one server: unblock the running XREAD so that it starts again with
   * the new stream. Should it not be blocked yet, it picks the stream up
   * at its next round (the register script's last entry id loses nothing).
   */
  async #interrupt(): Promise<void> {
    const id = this.#clientId;
    if (id === undefined) return;
    try {
      await this.#connection.call(undefined, ['CLIENT', 'UNBLOCK', id]);
    } catch {
      // The block ends by itself within a second.
    }
  }

  /**
   * One read loop: all streams (one server) or the given ones (Cluster).
   * It ends when none of its streams is watched any more.
   */
  async #loop(only: readonly string[] | undefined): Promise<void> {
    let blocked = false;
    for (;;) {
      const keys = (only ?? [...this.#streams.keys()]).filter((key) => this.#streams.has(key));
      if (keys.length === 0) break;
      const ids = keys.map((key) => (this.#streams.get(key) as Stream).lastId);
      const block = only !== undefined && this.#loops > 1 ? SHARED_BLOCK_MS : IDLE_BLOCK_MS;
      let reply: unknown;
      try {
        const blocking = await this.#open();
        if (only === undefined && this.#clientId === undefined) {
          this.#clientId = String(await blocking.call(undefined, ['CLIENT', 'ID']));
        }
        blocked = true;
        reply = await blocking.call(keys[0], [
          'XREAD',
          'BLOCK',
          String(block),
          'STREAMS',
          ...keys,
          ...ids,
        ]);
      } catch {
        if (blocked) this.#recheckAll();
        blocked = false;
        if (this.#streams.size === 0) break;
        await delay(RETRY_MS);
        continue;
      }
      this.#deliver(reply);
    }
    if (only === undefined) this.#running = false;
    else this.#loops--;
  }

  #deliver(reply: unknown): void {
    for (const [key, entries] of streamsOf(reply)) {
      const stream = this.#streams.get(key);
      if (stream === undefined) continue;
      for (const [id, fields] of entries) {
        if (compareIds(id, stream.lastId) > 0) stream.lastId = id;
        const gen = Number(fieldOf(fields, 'gen'));
        for (const watcher of [...stream.watchers]) watcher.released(gen);
      }
    }
  }

  #recheckAll(): void {
    for (const stream of this.#streams.values()) {
      for (const watcher of [...stream.watchers]) watcher.recheck();
    }
  }
}

/** An XREAD reply as [key, [id, fields][]] pairs: RESP2 arrays or RESP3 maps. */
function streamsOf(reply: unknown): [string, [string, unknown][]][] {
  if (reply === null || reply === undefined) return [];
  const pairs: [unknown, unknown][] = Array.isArray(reply)
    ? (reply as [unknown, unknown][])
    : reply instanceof Map
      ? [...reply.entries()]
      : Object.entries(reply as object);
  return pairs.map(([key, entries]) => [
    String(key),
    (entries as unknown[]).map((entry) =>
      Array.isArray(entry)
        ? [String(entry[0]), entry[1]]
        : [String((entry as { id: unknown }).id), (entry as { message: unknown }).message],
    ),
  ]);
}

function fieldOf(fields: unknown, name: string): unknown {
  if (Array.isArray(fields)) {
    for (let i = 0; i + 1 < fields.length; i += 2)
      if (String(fields[i]) === name) return fields[i + 1];
    return undefined;
  }
  if (fields instanceof Map) return fields.get(name);
  return (fields as Record<string, unknown> | null)?.[name];
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
