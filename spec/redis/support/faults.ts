/**
 * A loopback TCP proxy in front of a server, for the faults of R7 and R14:
 * it can stop answering (hold every byte both ways, connections open: a
 * server that hangs or a network partition), answer again, cut every
 * connection, send new connections elsewhere (a failover), or cut one
 * connection at a chosen chunk (a request lost before Redis got it, or a
 * reply lost after Redis applied it).
 *
 * @module
 */

import { createConnection, createServer, type Server as NetServer, type Socket } from 'node:net';
import { freePort } from './servers.js';

/** Which way a chunk goes through a proxy: to Redis, or back from it. */
export type Direction = 'request' | 'reply';

/** A proxy whose traffic can be held, cut, or cut at a chosen chunk. */
export class FaultProxy {
  readonly port: number;
  readonly #server: NetServer;
  #upstream = 0;
  readonly #pairs = new Set<[Socket, Socket]>();
  #held = false;
  #test: ((direction: Direction, chunk: Buffer) => boolean) | undefined;
  /** How many connections {@link cutAt} cut. */
  cuts = 0;

  private constructor(port: number, server: NetServer) {
    this.port = port;
    this.#server = server;
  }

  /** start listens on a free loopback port and forwards to `upstream`. */
  static async start(upstream: number): Promise<FaultProxy> {
    const port = await freePort();
    const proxy: { self?: FaultProxy } = {};
    const server = createServer((client) => {
      const self = proxy.self as FaultProxy;
      const redis = createConnection(self.#upstream, '127.0.0.1');
      const pair: [Socket, Socket] = [client, redis];
      self.#pairs.add(pair);
      const close = (): void => {
        client.destroy();
        redis.destroy();
        self.#pairs.delete(pair);
      };
      const forward = (direction: Direction, to: Socket) => (chunk: Buffer) => {
        if (self.#test?.(direction, chunk)) {
          self.#test = undefined;
          self.cuts++;
          close();
          return;
        }
        to.write(chunk);
      };
      client.on('data', forward('request', redis));
      redis.on('data', forward('reply', client));
      if (self.#held) {
        client.pause();
        redis.pause();
      }
      client.on('error', close).on('close', close);
      redis.on('error', close).on('close', close);
    });
    proxy.self = new FaultProxy(port, server);
    proxy.self.#upstream = upstream;
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    return proxy.self;
  }

  /** hold stops every byte in both directions; connections stay open. */
  hold(): void {
    this.#held = true;
    for (const [client, redis] of this.#pairs) {
      client.pause();
      redis.pause();
    }
  }

  /** release forwards again, the held bytes first. */
  release(): void {
    this.#held = false;
    for (const [client, redis] of this.#pairs) {
      client.resume();
      redis.resume();
    }
  }

  /** retarget sends new connections to `upstream` and cuts the open ones: a failover. */
  retarget(upstream: number): void {
    this.#upstream = upstream;
    this.cut();
  }

  /** cut destroys every connection through the proxy. */
  cut(): void {
    for (const [client, redis] of this.#pairs) {
      client.destroy();
      redis.destroy();
    }
    this.#pairs.clear();
  }

  /** cutAt arms the proxy: the next chunk `test` matches is dropped and its connection cut. */
  cutAt(test: (direction: Direction, chunk: Buffer) => boolean): void {
    this.#test = test;
  }

  async stop(): Promise<void> {
    this.cut();
    await new Promise((resolve) => this.#server.close(resolve));
  }
}
