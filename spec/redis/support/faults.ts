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
