/**
 * A loopback TCP proxy in front of a server, for the faults of R14: it can
 * stop answering (hold every byte both ways, connections open: a server
 * that hangs or a network partition), answer again, or cut every
 * connection.
 *
 * @module
 */

import { createConnection, createServer, type Server as NetServer, type Socket } from 'node:net';
import { freePort } from './servers.js';

/** A proxy whose traffic can be held. */
export class HoldingProxy {
  readonly port: number;
  readonly #server: NetServer;
  #upstream = 0;
  readonly #pairs = new Set<[Socket, Socket]>();
  #held = false;

  private constructor(port: number, server: NetServer) {
    this.port = port;
    this.#server = server;
  }

  /** start listens on a free loopback port and forwards to `upstream`. */
  static async start(upstream: number): Promise<HoldingProxy> {
    const port = await freePort();
    const proxy: { self?: HoldingProxy } = {};
    const server = createServer((client) => {
      const self = proxy.self as HoldingProxy;
      const redis = createConnection(self.#upstream, '127.0.0.1');
      const pair: [Socket, Socket] = [client, redis];
      self.#pairs.add(pair);
      client.pipe(redis);
      redis.pipe(client);
      if (self.#held) {
        client.pause();
        redis.pause();
      }
      const close = (): void => {
        client.destroy();
        redis.destroy();
        self.#pairs.delete(pair);
      };
      client.on('error', close).on('close', close);
      redis.on('error', close).on('close', close);
    });
    proxy.self = new HoldingProxy(port, server);
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

  async stop(): Promise<void> {
    this.cut();
    await new Promise((resolve) => this.#server.close(resolve));
  }
}

/** Which way a chunk goes through a proxy: to Redis, or back from it. */
export type Direction = 'request' | 'reply';

/**
 * A proxy that cuts a connection at a chosen chunk: once armed, the first
 * chunk its test matches is not forwarded and that connection is destroyed
 * both ways (a request lost before Redis got it, or a reply lost after
 * Redis applied it); then it is disarmed.
 */
export class CuttingProxy {
  readonly port: number;
  readonly #server: NetServer;
  readonly #sockets = new Set<Socket>();
  #test: ((direction: Direction, chunk: Buffer) => boolean) | undefined;
  /** How many connections it cut. */
  cuts = 0;

  private constructor(port: number, server: NetServer) {
    this.port = port;
    this.#server = server;
  }

  /** start listens on a free loopback port and forwards to `upstream`. */
  static async start(upstream: number): Promise<CuttingProxy> {
    const port = await freePort();
    const proxy: { self?: CuttingProxy } = {};
    const server = createServer((client) => {
      const self = proxy.self as CuttingProxy;
      const redis = createConnection(upstream, '127.0.0.1');
      self.#sockets.add(client).add(redis);
      const forward = (direction: Direction, to: Socket) => (chunk: Buffer) => {
        if (self.#test?.(direction, chunk)) {
          self.#test = undefined;
          self.cuts++;
          client.destroy();
          redis.destroy();
          return;
        }
        to.write(chunk);
      };
      client.on('data', forward('request', redis));
      redis.on('data', forward('reply', client));
      const close = (): void => {
        client.destroy();
        redis.destroy();
      };
      client.on('error', close).on('close', close);
      redis.on('error', close).on('close', close);
    });
    proxy.self = new CuttingProxy(port, server);
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    return proxy.self;
  }

  /** cutAt arms the proxy: the next chunk `test` matches cuts its connection. */
  cutAt(test: (direction: Direction, chunk: Buffer) => boolean): void {
    this.#test = test;
  }

  async stop(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise((resolve) => this.#server.close(resolve));
  }
}
