/**
 * A waiter process of the Redis rows (bench/redis.ts), forked once per
 * waiter with the server's port and the client library to use. It opens
 * its own client and, for each request of the parent, blocks and reports
 * the moment it resumed as `performance.timeOrigin + performance.now()`, so
 * that the parent, on the same machine, can time a wake across processes.
 *
 *   { op: 'xread', stream, id }        XREAD BLOCK 0 on its own connection (baseline (x))
 *   { op: 'wait', handle, count }      `count` RedisWaitGroup waits on the group
 *   { op: 'close' }                    close the client and exit
 *
 * Replies: { op: 'ready' } once connected; { op: 'resumed', at } when the
 * read returned or every wait resolved; { op: 'failed', message }.
 *
 * @module
 */

import { Redis as IORedis } from 'ioredis';
import { createClient } from 'redis';
import { type RedisClient, RedisWaitGroup, type RedisWaitGroupHandle } from '../lib/redis/index.js';

/** A request of the parent. */
export type WaiterRequest =
  | { readonly op: 'xread'; readonly stream: string; readonly id: string }
  | { readonly op: 'wait'; readonly handle: RedisWaitGroupHandle; readonly count: number }
  | { readonly op: 'close' };

/** A reply of the waiter. */
export type WaiterReply =
  | { readonly op: 'ready' }
  | { readonly op: 'resumed'; readonly at: number }
  | { readonly op: 'failed'; readonly message: string };

const [port, kind] = process.argv.slice(2) as [string, 'node-redis' | 'ioredis'];
const send = (reply: WaiterReply): void => void process.send?.(reply);
const now = (): number => performance.timeOrigin + performance.now();

let client: RedisClient;
let command: (args: string[]) => Promise<unknown>;
let close: () => void;
if (kind === 'node-redis') {
  const c = await createClient({ socket: { host: '127.0.0.1', port: Number(port) } }).connect();
  client = c;
  command = (args) => c.sendCommand(args);
  close = () => c.destroy();
} else {
  const c = new IORedis({ host: '127.0.0.1', port: Number(port), lazyConnect: true });
  await c.connect();
  client = c;
  command = ([name, ...rest]) => c.call(name as string, ...rest);
  close = () => c.disconnect();
}

process.on('message', (request: WaiterRequest) => {
  void serve(request).catch((error: unknown) =>
    send({ op: 'failed', message: String((error as Error)?.stack ?? error) }),
  );
});
send({ op: 'ready' });

async function serve(request: WaiterRequest): Promise<void> {
  switch (request.op) {
    case 'xread':
      await command(['XREAD', 'BLOCK', '0', 'STREAMS', request.stream, request.id]);
      send({ op: 'resumed', at: now() });
      return;
    case 'wait': {
      const wg = RedisWaitGroup.from(client, request.handle);
      await Promise.all(Array.from({ length: request.count }, () => wg.wait()));
      send({ op: 'resumed', at: now() });
      return;
    }
    case 'close':
      close();
      process.disconnect();
      return;
  }
}
