/**
 * The servers the Redis suite shares: one single server, one 3-master
 * Cluster and one Sentinel set, started on first use and stopped by the root hook after the last
 * test. Tests that restart, flush or kill a server start their own.
 *
 * @module
 */

import type { Kind, Target } from './clients.js';
import { Cluster, Sentinel, Server } from './servers.js';

let single: Promise<Server> | undefined;
let cluster: Promise<Cluster> | undefined;
let sentinel: Promise<Sentinel> | undefined;

/** sharedServer is the suite's single server. */
export function sharedServer(): Promise<Server> {
  single ??= Server.start();
  return single;
}

/** sharedCluster is the suite's Cluster. */
export function sharedCluster(): Promise<Cluster> {
  cluster ??= Cluster.start();
  return cluster;
}

/** sharedSentinel is the suite's Sentinel set, for tests that do not fail it over. */
export function sharedSentinel(): Promise<Sentinel> {
  sentinel ??= Sentinel.start();
  return sentinel;
}

/** The four combinations every rule runs on. */
export const MATRIX: readonly { readonly kind: Kind; readonly cluster: boolean }[] = [
  { kind: 'node-redis', cluster: false },
  { kind: 'ioredis', cluster: false },
  { kind: 'node-redis', cluster: true },
  { kind: 'ioredis', cluster: true },
];

/** targetOf returns the shared target of one combination. */
export async function targetOf(kind: Kind, inCluster: boolean): Promise<Target> {
  if (inCluster) {
    const c = await sharedCluster();
    return { kind, cluster: true, ports: c.nodes.map((node) => node.port) };
  }
  return { kind, cluster: false, ports: [(await sharedServer()).port] };
}

/** label names a combination in test titles. */
export function label(kind: Kind, inCluster: boolean): string {
  return `${kind}, ${inCluster ? '3-master cluster' : 'single server'}`;
}

/** stopShared stops the shared servers (the root hook's afterAll). */
export async function stopShared(): Promise<void> {
  const stopping: Promise<void>[] = [];
  if (single)
    stopping.push(
      single.then(
        (s) => s.stop(),
        () => {},
      ),
    );
  if (cluster)
    stopping.push(
      cluster.then(
        (c) => c.stop(),
        () => {},
      ),
    );
  if (sentinel)
    stopping.push(
      sentinel.then(
        (s) => s.stop(),
        () => {},
      ),
    );
  single = undefined;
  cluster = undefined;
  sentinel = undefined;
  await Promise.all(stopping);
}

let counter = 0;
/** uniqueName returns a group name not used before in this run. */
export function uniqueName(prefix = 'g'): string {
  return `${prefix}-${process.pid}-${++counter}-${Math.random().toString(36).slice(2, 8)}`;
}
