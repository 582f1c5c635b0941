/**
 * R14 bounded, never stuck, never crashing: aborts, retryFor, outages
 * outlasted by waits, closed and unconnected clients, the user closing the
 * client under a pending wait, and replies of every shape, on a server of
 * the test's own behind a proxy that can stop answering.
 */

import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import fc from 'fast-check';
import { Redis as IORedis } from 'ioredis';
import { createClient } from 'redis';
import { RedisWaitGroup, WaitGroupError } from '../../lib/redis/index.js';
import { streamsOf } from '../../lib/redis/waker.js';
import { expectPending, expectRejection } from '../helpers/async.js';
import { collect } from '../helpers/child.js';
import { expectWaitGroupErrorValue } from '../helpers/waitgroup.js';
import { type Connected, connect, type Kind } from './support/clients.js';
import { uniqueName } from './support/env.js';
import { FaultProxy } from './support/faults.js';
import { until } from './support/members.js';
import { freePort, Server } from './support/servers.js';

const here = dirname(fileURLToPath(import.meta.url));
const CLOSER = join(here, 'fixtures', 'closer.js');
const DID_NOT_ANSWER = 'awaitgroup: Redis did not answer';
const CLOSED = 'awaitgroup: the client was closed';

/** runCloser starts the closer fixture under --unhandled-rejections=strict. */
function runCloser(options: object): {
  readonly messages: string[];
  next(): Promise<string>;
  send(message: unknown): void;
  readonly outcome: ReturnType<typeof collect>;
} {
  const child = spawn(
    process.execPath,
    ['--unhandled-rejections=strict', CLOSER, JSON.stringify(options)],
    { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] },
  );
  const outcome = collect(child, 20_000);
  const messages: string[] = [];
  const waiting: ((message: string) => void)[] = [];
  child.on('message', (message: string) => {
    const taker = waiting.shift();
    if (taker) taker(message);
    else messages.push(message);
  });
  return {
    messages,
    next: () =>
      messages.length > 0
        ? Promise.resolve(messages.shift() as string)
        : new Promise((resolve) => waiting.push(resolve)),
    send: (message) => child.send(message as never),
    outcome,
  };
}

describe('R14 bounded, never stuck, never crashing', function () {
  this.timeout(60_000);
  let server: Server;
  let proxy: FaultProxy;
  const opened: Connected[] = [];

  before(async () => {
    server = await Server.start({ persistent: true });
  });
  after(async () => {
    await server.stop();
  });
  beforeEach(async () => {
    proxy = await FaultProxy.start(server.port);
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((c) => c.close().catch(() => {})));
    await proxy.stop();
  });

  const open = async (kind: Kind, port = proxy.port): Promise<Connected> => {
    const connected = await connect({ kind, cluster: false, ports: [port] });
    opened.push(connected);
    return connected;
  };

  for (const kind of ['node-redis', 'ioredis'] as Kind[]) {
    describe(`R14 (${kind})`, () => {
      it('an abort rejects create, add, done, state and wait at once with signal.reason while Redis does not answer', async () => {
        const { client } = await open(kind);
        const wg = await RedisWaitGroup.create(client, uniqueName());
        await wg.add(2);
        proxy.hold();
        const controller = new AbortController();
        const { signal } = controller;
        const calls = [
          RedisWaitGroup.create(client, uniqueName(), { signal }),
          wg.add(1, { signal }),
          wg.done({ id: 'job-1', signal }),
          wg.state({ signal }),
          wg.wait({ signal }),
          wg.go(() => 1, { signal }),
          wg.unfinished({ signal }),
        ];
        await expectPending(Promise.race(calls));
        const reason = new Error('stop');
        controller.abort(reason);
        // Redis still does not answer: every call has rejected with the reason.
        for (const call of calls) expect(await expectRejection(call)).to.equal(reason);
        proxy.release();
        // The wait's registration, if it was applied, is taken back in the background.
        await until(async () => (await wg.state()).waiters === 0, 'no waiter is left');
      });

      it('a pending wait aborted while Redis does not answer rejects at once and deregisters later', async () => {
        const { client } = await open(kind);
        const wg = await RedisWaitGroup.create(client, uniqueName());
        await wg.add(1);
        const controller = new AbortController();
        const waiting = wg.wait({ signal: controller.signal });
        await until(async () => (await wg.state()).waiters === 1, 'the wait is registered');
        proxy.hold();
        const reason = new Error('stop');
        controller.abort(reason);
        expect(await expectRejection(waiting)).to.equal(reason);
        proxy.release();
        await until(async () => (await wg.state()).waiters === 0, 'the wait is deregistered');
      });

      it('retries for at most retryFor, then rejects with ERR_WAITGROUP_UNAVAILABLE naming the server', async () => {
        const { client } = await open(kind);
        const wg = await RedisWaitGroup.create(client, uniqueName(), { retryFor: 300 });
        await wg.add(1);
        proxy.hold();
        const other = RedisWaitGroup.from(client, wg.handle, { retryFor: 300 });
        for (const call of [other.add(1), other.done({ id: 'a' }), other.state()]) {
          const error = expectWaitGroupErrorValue(
            await expectRejection(call),
            'ERR_WAITGROUP_UNAVAILABLE',
            DID_NOT_ANSWER,
          );
          expect(error.message).to.include(`127.0.0.1:${proxy.port}`);
          expect(error.message).to.include('retryFor');
        }
        const create = RedisWaitGroup.create(client, uniqueName(), { retryFor: 300 });
        expectWaitGroupErrorValue(
          await expectRejection(create),
          'ERR_WAITGROUP_UNAVAILABLE',
          DID_NOT_ANSWER,
        );
        proxy.release();
        // done({ id }) after UNAVAILABLE is safe to call again: it counts once.
        await other.done({ id: 'a' });
        await other.done({ id: 'a' });
        expect((await wg.state()).counter).to.be.within(0, 1);
      });

      it('a pending wait outlasts an outage longer than retryFor and resolves once Redis is back', async () => {
        const { client } = await open(kind);
        const wg = await RedisWaitGroup.create(client, uniqueName(), { retryFor: 200 });
        await wg.add(1);
        const waiting = wg.wait();
        await until(async () => (await wg.state()).waiters === 1, 'the wait is registered');
        proxy.hold();
        // A call with the same retryFor gives up: the outage has outlasted it.
        expectWaitGroupErrorValue(
          await expectRejection(wg.state()),
          'ERR_WAITGROUP_UNAVAILABLE',
          DID_NOT_ANSWER,
        );
        await expectPending(waiting);
        proxy.cut();
        proxy.release();
        const direct = await open(kind, server.port);
        await RedisWaitGroup.from(direct.client, wg.handle).done();
        await waiting;
      });

      it('refuses a closed client at once, never retried', async () => {
        const connected = await connect({ kind, cluster: false, ports: [server.port] });
        const wg = await RedisWaitGroup.create(connected.client, uniqueName());
        await connected.close();
        for (const call of [wg.add(1), wg.done(), wg.state(), wg.wait()]) {
          expectWaitGroupErrorValue(
            await expectRejection(call),
            'ERR_WAITGROUP_UNAVAILABLE',
            CLOSED,
          );
        }
        expectWaitGroupErrorValue(
          await expectRejection(RedisWaitGroup.create(connected.client, uniqueName())),
          'ERR_WAITGROUP_UNAVAILABLE',
          CLOSED,
        );
      });

      for (const how of kind === 'node-redis'
        ? (['quit', 'close', 'destroy', 'disconnect'] as const)
        : (['quit', 'disconnect'] as const)) {
        it(`${how}() of the client settles a pending wait with ERR_WAITGROUP_UNAVAILABLE and lets the process exit`, async () => {
          const { client } = await open(kind, server.port);
          const wg = await RedisWaitGroup.create(client, uniqueName());
          await wg.add(1);
          const child = runCloser({ kind, port: server.port, close: how });
          child.send({ handle: wg.handle });
          expect(await child.next()).to.equal('waiting');
          await until(async () => (await wg.state()).waiters === 1, 'the wait is registered');
          child.send('close');
          const settled = await child.next();
          expect(settled).to.match(
            /^rejected ERR_WAITGROUP_UNAVAILABLE awaitgroup: the client was closed/,
          );
          const outcome = await child.outcome;
          expect(outcome.stdout).to.not.include('uncaught');
          expect(outcome.signal, 'the process exits by itself').to.equal(null);
          expect(outcome.code, outcome.stderr).to.equal(0);
        });
      }
    });
  }

  it('a call to a Redis that is down from the start rejects with ERR_WAITGROUP_UNAVAILABLE after retryFor (ioredis, still connecting)', async () => {
    const port = await freePort();
    const client = new IORedis({ host: '127.0.0.1', port, retryStrategy: () => 50 });
    client.on('error', () => {});
    try {
      const error = expectWaitGroupErrorValue(
        await expectRejection(RedisWaitGroup.create(client, uniqueName(), { retryFor: 300 })),
        'ERR_WAITGROUP_UNAVAILABLE',
        DID_NOT_ANSWER,
      );
      expect(error.message).to.include(`127.0.0.1:${port}`);
    } finally {
      client.disconnect();
    }
  });

  it('refuses a node-redis client never connected at once: connect the client first', async () => {
    const client = createClient({ socket: { host: '127.0.0.1', port: server.port } });
    const error = expectWaitGroupErrorValue(
      await expectRejection(RedisWaitGroup.create(client, uniqueName())),
      'ERR_WAITGROUP_UNAVAILABLE',
      CLOSED,
    );
    expect(error.message).to.include('await client.connect()');
  });

  it('node-redis with RESP3 and a type mapping (maps as arrays, strings as Buffers): waits are released, nothing is thrown', async () => {
    const { client } = await open('node-redis', server.port);
    const wg = await RedisWaitGroup.create(client, uniqueName());
    await wg.add(1);
    const child = runCloser({ kind: 'node-redis', port: server.port, resp3: true });
    child.send({ handle: wg.handle });
    expect(await child.next()).to.equal('waiting');
    await until(async () => (await wg.state()).waiters === 1, 'the wait is registered');
    await wg.done();
    expect(await child.next()).to.equal('resolved');
    const outcome = await child.outcome;
    expect(outcome.stdout).to.not.include('uncaught');
    expect(outcome.code, outcome.stderr).to.equal(0);
  });
});

describe('R14 the waker reads XREAD replies of any shape, never throwing', () => {
  const entries = [['1-1', ['gen', '1']]];
  it('reads RESP2 arrays, a bare [key, entries] pair, Maps, objects and Buffers alike', () => {
    const want = [['k', [['1-1', ['gen', '1']]]]];
    expect(streamsOf([['k', entries]])).to.deep.equal(want);
    expect(streamsOf(['k', entries])).to.deep.equal(want);
    expect(streamsOf(new Map([['k', entries]]))).to.deep.equal(want);
    expect(streamsOf({ k: entries })).to.deep.equal(want);
    expect(streamsOf([[Buffer.from('k'), entries]])).to.deep.equal(want);
    expect(
      streamsOf([{ name: 'k', messages: [{ id: '1-1', message: ['gen', '1'] }] }]),
    ).to.deep.equal(want);
    expect(streamsOf(null)).to.deep.equal([]);
  });

  it('takes the client’s own key prefix off the keys', () => {
    expect(streamsOf([['app:k', entries]], 'app:')).to.deep.equal([['k', entries]]);
  });

  it('answers undefined (re-check) for shapes it does not know, never throws', () => {
    for (const odd of [42, 'x', [['k', 7]], [['k', [7]]], [1, 2, 3], { k: 'x' }, [[null, []]]]) {
      expect(streamsOf(odd), JSON.stringify(odd)).to.equal(undefined);
    }
    fc.assert(
      fc.property(fc.anything({ withMap: true, withSet: true, withTypedArray: true }), (reply) => {
        streamsOf(reply);
      }),
    );
  });
});

describe('R15 the client type is structural', () => {
  it('rejects {} at compile time and at run time', async () => {
    // @ts-expect-error: {} is not a Redis client.
    const made = RedisWaitGroup.create({}, 'x');
    expect(await expectRejection(made)).to.be.an.instanceOf(TypeError);
    expect(WaitGroupError).to.be.a('function');
  });
});
