/**
 * A waiter process of the Redis rows (bench/redis.ts), forked once per
 * waiter with the server's port and the client kind to use. It opens its
 * own client (spec/redis/support/clients.ts: any kind) and, for each request
 * of the parent, blocks and reports the moment it resumed as
 * `performance.timeOrigin + performance.now()`, so that the parent, on the
 * same machine, can time a wake across processes.
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

import { type RedisClient, RedisWaitGroup, type RedisWaitGroupHandle } from '../lib/redis/index.js';
import { connect, family, type Kind } from '../spec/redis/support/clients.js';

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

const [port, kind] = process.argv.slice(2) as [string, Kind];
const send = (reply: WaiterReply): void => void process.send?.(reply);
const now = (): number => performance.timeOrigin + performance.now();

const connected = await connect({ kind, cluster: false, ports: [Number(port)] });
const client: RedisClient = connected.client;
const c = client as unknown as {
  sendCommand(args: string[]): Promise<unknown>;
  call(name: string, ...args: string[]): Promise<unknown>;
};
const command: (args: string[]) => Promise<unknown> =
  family(kind) === 'node-redis'
    ? (args) => c.sendCommand(args)
    : ([name, ...rest]) => c.call(name as string, ...rest);
const close = (): void => void connected.close();

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
