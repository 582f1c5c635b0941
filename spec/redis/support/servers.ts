/**
 * redis-server processes for the Redis suite (R12, R16): a single server, a
 * 3-master Cluster, a Cluster of 3 masters with a replica each, and a
 * Sentinel set (a master, 2 replicas, 3 sentinels), on loopback ports
 * chosen by the kernel, each server in a temporary folder removed when it
 * stops. Every process started is registered, so the root hook stops what
 * a failed test left behind, by pid. Without Debian's redis-server (or
 * redis-sentinel, for Sentinel) the suite fails and says how to install
 * it; it never skips.
 *
 * @module
 */

import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const INSTALL = 'install it with: apt-get install -y redis-server';

/** requireRedis throws, saying how to install them, unless redis-server and redis-cli exist. */
export function requireRedis(): void {
  for (const tool of ['redis-server', 'redis-cli']) {
    const found = spawnSync('sh', ['-c', `command -v ${tool}`]);
    if (found.status !== 0) throw new Error(`${tool} is not installed: ${INSTALL}`);
  }
}

/** requireSentinel throws, saying how to install it, unless redis-sentinel exists. */
export function requireSentinel(): void {
  requireRedis();
  const found = spawnSync('sh', ['-c', 'command -v redis-sentinel']);
  if (found.status !== 0) {
    throw new Error(
      'redis-sentinel is not installed: install it with: apt-get install -y redis-sentinel',
    );
  }
}

/** Every redis process started and not yet stopped, for {@link stopAll}. */
const alive = new Set<ChildProcess>();

/** stopAll SIGKILLs, by pid, every redis-server and redis-sentinel still running (the root hook). */
export function stopAll(): void {
  for (const child of alive) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  alive.clear();
}

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * launch spawns `command` with `args` and resolves with the process once it
 * answers PING on `port`, or rejects with its stderr if it exits first.
 */
async function launch(
  command: string,
  args: readonly string[],
  port: number,
): Promise<ChildProcess> {
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  alive.add(child);
  child.once('exit', () => alive.delete(child));
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code) => reject(new Error(`${command} exited with ${code}: ${stderr}`))),
  );
  exited.catch(() => {});
  for (let i = 0; i < 400; i++) {
    const ping = run('redis-cli', ['-p', String(port), 'PING']).then(
      (out) => out.stdout.trim() === 'PONG',
      () => false,
    );
    if (await Promise.race([ping, exited])) return child;
    await delay(25);
  }
  child.kill('SIGKILL');
  throw new Error(`${command} on port ${port} did not start: ${stderr}`);
}

/** cli runs one redis-cli command against the process on `port` and returns its output. */
export async function cli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run('redis-cli', ['-p', String(port), ...args]);
  return stdout.trim();
}

/** until polls `condition` every 25 ms until it holds, or throws naming `what` after `ms`. */
async function until(condition: () => Promise<boolean>, what: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await condition().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await delay(25);
  }
}

/** freePort asks the kernel for a free loopback port. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** How a server is started. */
export interface ServerOptions {
  /** appendonly yes + appendfsync always: a restart loses nothing (R8). */
  readonly persistent?: boolean;
  /** Start as a Cluster node. */
  readonly cluster?: boolean;
  /** Extra redis-server arguments, e.g. `['--maxmemory', '2mb']` or `['--aclfile', path]`. */
  readonly args?: readonly string[];
}

/** One redis-server on loopback. */
export class Server {
  readonly port: number;
  readonly dir: string;
  readonly options: ServerOptions;
  #process: ChildProcess | undefined;

  private constructor(port: number, dir: string, options: ServerOptions) {
    this.port = port;
    this.dir = dir;
    this.options = options;
  }

  /** start launches a server in a fresh temporary folder and resolves once it accepts connections. */
  static async start(options: ServerOptions = {}): Promise<Server> {
    requireRedis();
    const dir = await mkdtemp(join(tmpdir(), 'awaitgroup-redis-'));
    const server = new Server(await freePort(), dir, options);
    await server.#launch();
    return server;
  }

  /**
   * startReplicated starts a master and one replica of it, and resolves once
   * the replication link is up (a full sync starts at once, not after
   * diskless sync's default delay of 5 s). The bound (30 s) is a hang guard.
   */
  static async startReplicated(): Promise<[master: Server, replica: Server]> {
    const [master, replica] = await Promise.all([Server.start(), Server.start()]);
    try {
      await master.cli('CONFIG', 'SET', 'repl-diskless-sync-delay', '0');
      await replica.cli('REPLICAOF', '127.0.0.1', String(master.port));
      const deadline = Date.now() + 30_000;
      for (;;) {
        const info = await master.cli('INFO', 'replication');
        if (/slave0:.*state=online/.test(info)) return [master, replica];
        if (Date.now() > deadline) throw new Error(`the replica did not come online: ${info}`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    } catch (error) {
      await Promise.all([master.stop(), replica.stop()]);
      throw error;
    }
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** The pid of the running process (undefined once killed). */
  get pid(): number | undefined {
    return this.#process?.pid;
  }

  async #launch(): Promise<void> {
    const args = [
      '--port',
      String(this.port),
      '--bind',
      '127.0.0.1',
      '--dir',
      this.dir,
      '--save',
      '',
      '--daemonize',
      'no',
      '--protected-mode',
      'no',
      '--loglevel',
      'warning',
      '--appendonly',
      this.options.persistent ? 'yes' : 'no',
      '--appendfsync',
      'always',
    ];
    if (this.options.cluster) {
      args.push(
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        'nodes.conf',
        '--cluster-node-timeout',
        '2000',
      );
    }
    args.push(...(this.options.args ?? []));
    this.#process = await launch('redis-server', args, this.port);
  }

  /** cli runs one redis-cli command against this server and returns its output. */
  cli(...args: string[]): Promise<string> {
    return cli(this.port, ...args);
  }

  /** pause stops the process (SIGSTOP): connections stay open, nothing is answered. */
  pause(): void {
    this.#process?.kill('SIGSTOP');
  }

  /** resume continues a paused process (SIGCONT). */
  resume(): void {
    this.#process?.kill('SIGCONT');
  }

  /** kill stops the server at once (SIGKILL): what is not on disk is lost. */
  async kill(): Promise<void> {
    const child = this.#process;
    this.#process = undefined;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  /** restart kills the server and starts it again on the same port and folder. */
  async restart(): Promise<void> {
    await this.kill();
    await this.#launch();
  }

  /** stop kills the server and removes its folder. */
  async stop(): Promise<void> {
    await this.kill();
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** How a Cluster is started. */
export interface ClusterOptions {
  /** Replicas per master (`--cluster-replicas`): 0 (3 nodes) or 1 (6 nodes). */
  readonly replicas?: 0 | 1;
}

/** A Redis Cluster of 3 masters on loopback, with or without a replica each. */
export class Cluster {
  /** Every node, masters and replicas, in the order they were created. */
  readonly nodes: readonly Server[];

  private constructor(nodes: readonly Server[]) {
    this.nodes = nodes;
  }

  /**
   * start launches the nodes, joins them with redis-cli --cluster create and
   * waits until every node reports cluster_state:ok (and, with replicas,
   * every replica is in sync).
   */
  static async start(options: ClusterOptions = {}): Promise<Cluster> {
    const replicas = options.replicas ?? 0;
    const count = 3 * (1 + replicas);
    const nodes = await Promise.all(
      Array.from({ length: count }, () => Server.start({ cluster: true })),
    );
    const cluster = new Cluster(nodes);
    try {
      await run('redis-cli', [
        '--cluster',
        'create',
        ...nodes.map((node) => `127.0.0.1:${node.port}`),
        '--cluster-replicas',
        String(replicas),
        '--cluster-yes',
      ]);
      await cluster.settled();
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  /**
   * settled resolves once every running node reports cluster_state:ok and
   * agrees on the masters, and every replica's link to its master is up.
   */
  async settled(ms = 60_000): Promise<void> {
    await until(
      async () => {
        const running = this.nodes.filter((node) => node.pid !== undefined);
        const infos = await Promise.all(running.map((node) => node.cli('CLUSTER', 'INFO')));
        if (!infos.every((info) => info.includes('cluster_state:ok'))) return false;
        const views = await Promise.all(running.map((node) => mastersSeenBy(node)));
        const first = JSON.stringify(views[0]);
        if (!views.every((view) => JSON.stringify(view) === first)) return false;
        const roles = await Promise.all(running.map((node) => node.cli('ROLE')));
        return roles.every((role) => !role.startsWith('slave') || role.includes('connected'));
      },
      'the Redis Cluster reached cluster_state:ok',
      ms,
    );
  }

  /** nodeOf returns the master that holds `key`. */
  async nodeOf(key: string): Promise<Server> {
    const asker = this.nodes.find((node) => node.pid !== undefined) as Server;
    const slot = Number(await asker.cli('CLUSTER', 'KEYSLOT', key));
    const slots = await slotsOf(asker);
    const owner = slots.find(([from, to]) => slot >= from && slot <= to);
    const node = this.nodes.find((candidate) => candidate.port === owner?.[2]);
    if (node === undefined) throw new Error(`no node holds slot ${slot}`);
    return node;
  }

  /** replicaOf returns the replica of `master` (a Cluster started with replicas). */
  async replicaOf(master: Server): Promise<Server> {
    const lines = (await master.cli('CLUSTER', 'NODES')).split('\n');
    const id = lines.find((line) => line.includes('myself'))?.split(' ')[0];
    for (const line of lines) {
      const fields = line.split(' ');
      if (fields[2]?.includes('slave') && fields[3] === id) {
        const port = Number(fields[1]?.split(':')[1]?.split('@')[0]);
        const replica = this.nodes.find((node) => node.port === port);
        if (replica !== undefined) return replica;
      }
    }
    throw new Error(`the master on port ${master.port} has no replica`);
  }

  /**
   * failover runs CLUSTER FAILOVER on the replica of the master that holds
   * `key` and resolves with the new master once the Cluster has settled.
   */
  async failover(key: string, mode: 'FORCE' | 'TAKEOVER' | '' = ''): Promise<Server> {
    const replica = await this.replicaOf(await this.nodeOf(key));
    await replica.cli('CLUSTER', 'FAILOVER', ...(mode === '' ? [] : [mode]));
    await until(
      async () => (await replica.cli('ROLE')).startsWith('master'),
      `the replica on port ${replica.port} became master`,
    );
    await this.settled();
    return replica;
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.stop()));
  }
}

/** mastersSeenBy lists the master ports `node` knows of that hold slots, sorted. */
async function mastersSeenBy(node: Server): Promise<number[]> {
  return [...new Set((await slotsOf(node)).map(([, , port]) => port))].sort((a, b) => a - b);
}

/** slotsOf reads the slot ranges of CLUSTER NODES as [from, to, port]. */
async function slotsOf(node: Server): Promise<[number, number, number][]> {
  const lines = (await node.cli('CLUSTER', 'NODES')).split('\n');
  const ranges: [number, number, number][] = [];
  for (const line of lines) {
    const fields = line.split(' ');
    if (fields[2]?.includes('fail') && !fields[2]?.includes('fail?')) continue;
    const port = Number(fields[1]?.split(':')[1]?.split('@')[0]);
    for (const range of fields.slice(8)) {
      if (range.startsWith('[')) continue;
      const [from, to = from] = range.split('-').map(Number);
      if (from !== undefined && !Number.isNaN(from)) ranges.push([from, to as number, port]);
    }
  }
  return ranges;
}

/** One redis-sentinel process on loopback. */
class SentinelProcess {
  readonly port: number;
  readonly dir: string;
  #process: ChildProcess | undefined;

  constructor(port: number, dir: string) {
    this.port = port;
    this.dir = dir;
  }

  async launch(name: string, masterPort: number): Promise<void> {
    const config = join(this.dir, 'sentinel.conf');
    await writeFile(
      config,
      [
        `port ${this.port}`,
        'bind 127.0.0.1',
        'protected-mode no',
        'daemonize no',
        `dir ${this.dir}`,
        'loglevel warning',
        `sentinel monitor ${name} 127.0.0.1 ${masterPort} 2`,
        `sentinel down-after-milliseconds ${name} 1000`,
        `sentinel failover-timeout ${name} 10000`,
        `sentinel parallel-syncs ${name} 1`,
        '',
      ].join('\n'),
    );
    this.#process = await launch('redis-sentinel', [config], this.port);
  }

  cli(...args: string[]): Promise<string> {
    return cli(this.port, ...args);
  }

  async stop(): Promise<void> {
    const child = this.#process;
    this.#process = undefined;
    if (child !== undefined && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    }
    await rm(this.dir, { recursive: true, force: true });
  }
}

/**
 * A Sentinel set on loopback: a master, 2 replicas and 3 redis-sentinel
 * processes (quorum 2, a master is down after 1 s).
 */
export class Sentinel {
  /** The master name the sentinels monitor. */
  readonly name: string;
  /** The data servers: the first one is the master at start. */
  readonly servers: readonly Server[];
  readonly #sentinels: readonly SentinelProcess[];

  private constructor(
    name: string,
    servers: readonly Server[],
    sentinels: readonly SentinelProcess[],
  ) {
    this.name = name;
    this.servers = servers;
    this.#sentinels = sentinels;
  }

  /** The sentinels' ports, what a client is given. */
  get ports(): number[] {
    return this.#sentinels.map((sentinel) => sentinel.port);
  }

  /** start launches the set and resolves once every sentinel sees the master and both replicas. */
  static async start(name = 'mymaster'): Promise<Sentinel> {
    requireSentinel();
    const master = await Server.start();
    const replicas = await Promise.all(
      [0, 1].map(() => Server.start({ args: ['--replicaof', '127.0.0.1', String(master.port)] })),
    );
    const sentinels = await Promise.all(
      [0, 1, 2].map(
        async () =>
          new SentinelProcess(
            await freePort(),
            await mkdtemp(join(tmpdir(), 'awaitgroup-sentinel-')),
          ),
      ),
    );
    const set = new Sentinel(name, [master, ...replicas], sentinels);
    try {
      await Promise.all(sentinels.map((sentinel) => sentinel.launch(name, master.port)));
      await set.settled();
    } catch (error) {
      await set.stop();
      throw error;
    }
    return set;
  }

  /** master returns the server the sentinels name as master now. */
  async master(): Promise<Server> {
    const reply = await this.#sentinels[0]?.cli('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', this.name);
    const port = Number(reply?.split('\n')[1]);
    const server = this.servers.find((candidate) => candidate.port === port);
    if (server === undefined) throw new Error(`no server on the master's port ${port}`);
    return server;
  }

  /**
   * settled resolves once every sentinel names the same master, that master
   * says so itself, and every other running server replicates from it with
   * its link up.
   */
  async settled(ms = 60_000): Promise<void> {
    await until(
      async () => {
        const answers = await Promise.all(
          this.#sentinels.map((sentinel) =>
            sentinel.cli('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', this.name),
          ),
        );
        if (new Set(answers).size !== 1) return false;
        const master = await this.master();
        if (!(await master.cli('ROLE')).startsWith('master')) return false;
        const running = this.servers.filter((s) => s !== master && s.pid !== undefined);
        const infos = await Promise.all(running.map((s) => s.cli('INFO', 'replication')));
        if (
          !infos.every(
            (info) =>
              info.includes(`master_port:${master.port}`) && info.includes('master_link_status:up'),
          )
        ) {
          return false;
        }
        const seen = await Promise.all(
          this.#sentinels.map((sentinel) => sentinel.cli('SENTINEL', 'REPLICAS', this.name)),
        );
        return seen.every((list) => running.every((s) => list.includes(String(s.port))));
      },
      `the Sentinel set "${this.name}" settled`,
      ms,
    );
  }

  /** failover runs SENTINEL FAILOVER and resolves with the new master once the set has settled. */
  async failover(): Promise<Server> {
    const old = await this.master();
    await this.#sentinels[0]?.cli('SENTINEL', 'FAILOVER', this.name);
    await until(async () => (await this.master()) !== old, 'the sentinels chose a new master');
    await this.settled();
    return this.master();
  }

  async stop(): Promise<void> {
    await Promise.all([
      ...this.#sentinels.map((sentinel) => sentinel.stop()),
      ...this.servers.map((server) => server.stop()),
    ]);
  }
}
