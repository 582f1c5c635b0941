/**
 * redis-server processes for the Redis suite (R12): a single server or a
 * 3-master Cluster, on loopback ports chosen by the kernel, each in a
 * temporary folder removed when it stops. Without Debian's redis-server the
 * suite fails and says how to install it; it never skips.
 *
 * @module
 */

import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
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

/** How a server keeps its data across a restart. */
export interface ServerOptions {
  /** appendonly yes + appendfsync always: a restart loses nothing (R8). */
  readonly persistent?: boolean;
  /** Start as a Cluster node. */
  readonly cluster?: boolean;
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

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
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
    const child = spawn('redis-server', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    this.#process = child;
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    const exited = new Promise<never>((_, reject) =>
      child.once('exit', (code) =>
        reject(new Error(`redis-server exited with ${code}: ${stderr}`)),
      ),
    );
    for (let i = 0; i < 200; i++) {
      const ping = run('redis-cli', ['-p', String(this.port), 'PING']).then(
        (out) => out.stdout.trim() === 'PONG',
        () => false,
      );
      if (await Promise.race([ping, exited])) return;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    throw new Error(`redis-server on port ${this.port} did not start: ${stderr}`);
  }

  /** cli runs one redis-cli command against this server and returns its output. */
  async cli(...args: string[]): Promise<string> {
    const { stdout } = await run('redis-cli', ['-p', String(this.port), ...args]);
    return stdout.trim();
  }

  /** kill stops the server at once (SIGKILL): what is not on disk is lost. */
  async kill(): Promise<void> {
    const child = this.#process;
    this.#process = undefined;
    if (child === undefined || child.exitCode !== null) return;
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

/** A 3-master Redis Cluster on loopback, no replicas. */
export class Cluster {
  readonly nodes: readonly Server[];

  private constructor(nodes: readonly Server[]) {
    this.nodes = nodes;
  }

  /** start launches three nodes, joins them with redis-cli --cluster create and waits for cluster_state:ok. */
  static async start(): Promise<Cluster> {
    const nodes = await Promise.all([0, 1, 2].map(() => Server.start({ cluster: true })));
    await run('redis-cli', [
      '--cluster',
      'create',
      ...nodes.map((node) => `127.0.0.1:${node.port}`),
      '--cluster-replicas',
      '0',
      '--cluster-yes',
    ]);
    for (let i = 0; i < 400; i++) {
      const states = await Promise.all(nodes.map((node) => node.cli('CLUSTER', 'INFO')));
      if (states.every((info) => info.includes('cluster_state:ok'))) return new Cluster(nodes);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    throw new Error('the Redis Cluster did not reach cluster_state:ok');
  }

  /** nodeOf returns the master that holds `key`. */
  async nodeOf(key: string): Promise<Server> {
    const slot = Number(await this.nodes[0]?.cli('CLUSTER', 'KEYSLOT', key));
    const slots = await slotsOf(this.nodes[0] as Server);
    const owner = slots.find(([from, to]) => slot >= from && slot <= to);
    const node = this.nodes.find((candidate) => candidate.port === owner?.[2]);
    if (node === undefined) throw new Error(`no node holds slot ${slot}`);
    return node;
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.stop()));
  }
}

/** slotsOf reads the slot ranges of CLUSTER NODES as [from, to, port]. */
async function slotsOf(node: Server): Promise<[number, number, number][]> {
  const lines = (await node.cli('CLUSTER', 'NODES')).split('\n');
  const ranges: [number, number, number][] = [];
  for (const line of lines) {
    const fields = line.split(' ');
    const port = Number(fields[1]?.split(':')[1]?.split('@')[0]);
    for (const range of fields.slice(8)) {
      const [from, to = from] = range.split('-').map(Number);
      if (from !== undefined && !Number.isNaN(from)) ranges.push([from, to as number, port]);
    }
  }
  return ranges;
}
