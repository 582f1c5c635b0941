/**
 * The clients of the Redis suite: node-redis and ioredis, on one server or
 * on the Cluster, described by a plain {@link Target} that child processes
 * get over IPC and connect to in the same way.
 *
 * @module
 */

import { Cluster as IOCluster, Redis as IORedis } from 'ioredis';
import { createClient, createCluster } from 'redis';
import type { RedisClient } from '../../../lib/redis/index.js';

/** The two supported clients. */
export type Kind = 'node-redis' | 'ioredis';

/** Where to connect: one server, or a Cluster by any of its nodes. */
export interface Target {
  readonly kind: Kind;
  readonly cluster: boolean;
  readonly ports: readonly number[];
}

/** A connected client and how to close it. */
export interface Connected {
  readonly client: RedisClient;
  close(): Promise<void>;
}

const quiet = (): void => {};

/** connect opens a client of `target.kind` to `target`, ready for commands. */
export async function connect(target: Target): Promise<Connected> {
  const [port = 0] = target.ports;
  if (target.kind === 'node-redis') {
    const socket = { host: '127.0.0.1', reconnectStrategy: () => 50 };
    if (target.cluster) {
      const cluster = createCluster({
        rootNodes: target.ports.map((p) => ({ socket: { host: '127.0.0.1', port: p } })),
        defaults: { socket },
      });
      cluster.on('error', quiet);
      await cluster.connect();
      return { client: cluster, close: async () => cluster.destroy() };
    }
    const client = createClient({ socket: { ...socket, port } });
    client.on('error', quiet);
    await client.connect();
    return { client, close: async () => client.destroy() };
  }
  if (target.cluster) {
    const cluster = new IOCluster(
      target.ports.map((p) => ({ host: '127.0.0.1', port: p })),
      { clusterRetryStrategy: () => 50 },
    );
    cluster.on('error', quiet);
    await new Promise((resolve, reject) => {
      cluster.once('ready', resolve);
      cluster.once('end', reject);
    });
    return { client: cluster, close: async () => cluster.disconnect() };
  }
  const client = new IORedis({ host: '127.0.0.1', port, retryStrategy: () => 50 });
  client.on('error', quiet);
  await client.ping();
  return { client, close: async () => client.disconnect() };
}
