/**
 * R18 an ACL user of its own: with `prefix: 'app:'`, a user limited to
 * `~app:*` and the commands the README's ACL line lists waits, releases and
 * reads the group with no denied command, on a single server and on every
 * node of a Cluster, with node-redis and ioredis, in this process and in
 * another. The rules are read from the README itself, so the line users copy
 * is the line tested.
 */

import { readFile } from 'node:fs/promises';
import { expect } from 'chai';
import { RedisWaitGroup } from '../../lib/redis/index.js';
import { type Connected, connect, type Kind, type Target } from './support/clients.js';
import { sharedCluster, uniqueName } from './support/env.js';
import { Member, until } from './support/members.js';
import { Server } from './support/servers.js';

const README = new URL('../../../README.md', import.meta.url);

/** aclRules reads the README's ACL line: its user, its password and its rules. */
async function aclRules(): Promise<{ user: string; password: string; rules: string[] }> {
  const readme = await readFile(README, 'utf8');
  const line = readme.split('\n').find((text) => text.startsWith('ACL SETUSER '));
  if (line === undefined) throw new Error('the README has no ACL SETUSER line');
  const [user = '', on = '', secret = '', ...rules] = line.slice('ACL SETUSER '.length).split(' ');
  expect(on, 'the README’s ACL line turns the user on').to.equal('on');
  expect(secret, 'the README’s ACL line sets a password').to.match(/^>/);
  return { user, password: secret.slice(1), rules: [on, secret, ...rules] };
}

/** What the README adds for ioredis: its ready check runs INFO. */
const IOREDIS_READY_CHECK = '+info';

/** An ACL user's name and password, as a {@link Target} takes them. */
type User = { readonly username: string; readonly password: string };

/** setUser creates the README's user on `server`, with `extra` rules, and clears its ACL log. */
async function setUser(server: Server, extra: readonly string[] = []): Promise<User> {
  const { user, password, rules } = await aclRules();
  await server.cli('ACL', 'SETUSER', user, 'reset', ...rules, ...extra);
  await server.cli('ACL', 'LOG', 'RESET');
  return { username: user, password };
}

/**
 * denied lists what the ACL log of `server` has denied, as `reason: object`.
 * CLIENT SETINFO is left out: the clients send it themselves and go on when
 * it is refused, and Redis before 7.2 (the suite's) cannot grant it.
 */
async function denied(server: Server): Promise<string[]> {
  const log = (await server.cli('ACL', 'LOG')).split('\n');
  return log
    .flatMap((line, i) => (line === 'object' ? [`${log[i - 4]}: ${log[i + 1]}`] : []))
    .filter((entry) => !entry.endsWith(': client|setinfo'));
}

describe('R18 an ACL user limited to the prefix and the README’s commands', function () {
  this.timeout(60_000);
  const opened: Connected[] = [];
  const members: Member[] = [];
  const servers: Server[] = [];
  afterEach(async () => {
    await Promise.all(members.splice(0).map((member) => member.kill()));
    await Promise.all(opened.splice(0).map((c) => c.close().catch(() => {})));
    await Promise.all(servers.splice(0).map((server) => server.stop()));
  });

  it('R18 the README’s line grants no @admin or @dangerous command', async () => {
    const { rules } = await aclRules();
    const server = await Server.start();
    servers.push(server);
    const risky = new Set(
      [
        ...(await server.cli('ACL', 'CAT', 'admin')).split('\n'),
        ...(await server.cli('ACL', 'CAT', 'dangerous')).split('\n'),
      ].map((command) => `+${command}`),
    );
    expect(rules.filter((rule) => risky.has(rule))).to.deep.equal([]);
    expect(rules).to.include.members(['~app:*', 'resetchannels', '&app:*', '-@all']);
  });
  const open = async (target: Target): Promise<Connected> => {
    const connected = await connect(target);
    opened.push(connected);
    return connected;
  };

  /**
   * exercise runs a group through everything it does under the user: add,
   * a wait in this process and one in a member process, go, state,
   * unfinished, a second group's wait, done and the releases.
   */
  const exercise = async (targets: readonly Target[]): Promise<string> => {
    const [first, second] = (await Promise.all(targets.map(open))) as [Connected, Connected];
    const options = { prefix: 'app:' };
    const name = uniqueName();
    const wg = await RedisWaitGroup.create(first.client, name, options);
    const other = RedisWaitGroup.from(second.client, wg.handle, options);
    const member = await Member.start(targets[1] as Target);
    members.push(member);
    await member.ok('attach', { handle: wg.handle, options });
    await wg.add(2);
    const waits = [wg.wait(), other.wait(), member.ok('wait')];
    await until(async () => (await wg.state()).waiters === 3, 'the three waits are registered');
    // A second group's wait joins the running read (no CLIENT UNBLOCK).
    const more = await RedisWaitGroup.create(second.client, uniqueName(), options);
    await more.add(1);
    const moreWait = more.wait();
    await until(async () => (await more.state()).waiters === 1, 'the second wait is registered');
    // The task runs once its add is applied: then it is one of the group's units.
    let finish = (): void => {};
    let task: Promise<unknown> = Promise.resolve();
    await new Promise<void>((started) => {
      task = other.go(
        () =>
          new Promise<void>((resolve) => {
            finish = resolve;
            started();
          }),
        { name: 'resize' },
      );
      // A go() refused before its task ran ends the handshake; `await task` then throws.
      task.catch(() => started());
    });
    const unfinished = await wg.unfinished();
    expect(unfinished.map((unit) => unit.name)).to.include('resize');
    await member.ok('done');
    await wg.done({ id: 'last' });
    finish();
    await task;
    await more.done();
    await Promise.all([...waits, moreWait]);
    expect(await wg.state()).to.deep.include({ counter: 0, waiters: 0 });
    return name;
  };

  for (const kinds of [
    ['node-redis', 'ioredis'],
    ['ioredis', 'node-redis'],
  ] as [Kind, Kind][]) {
    it(`R18 on a 3-master Cluster, the user set on every node: ${kinds.join(' and ')} wait and release with no denied command on any node`, async () => {
      const cluster = await sharedCluster();
      const nodes = cluster.nodes;
      // Both clients connect as one user: ioredis' ready check needs what the README adds.
      const users = await Promise.all(nodes.map((node) => setUser(node, [IOREDIS_READY_CHECK])));
      const user = users[0] as User;
      const ports = nodes.map((node) => node.port);
      try {
        const name = await exercise(kinds.map((kind) => ({ kind, cluster: true, ports, user })));
        const master = await cluster.nodeOf(`{${name}}`);
        const keys = (await master.cli('--scan', '--pattern', `*{${name}}*`)).split('\n');
        expect(keys.length).to.be.above(0);
        expect(keys.every((key) => key.startsWith('app:'))).to.equal(true);
        const log = await Promise.all(nodes.map(async (node) => [node.port, await denied(node)]));
        expect(log.filter(([, entries]) => (entries as string[]).length > 0)).to.deep.equal([]);
      } finally {
        await Promise.all(nodes.map((node) => node.cli('ACL', 'DELUSER', user.username)));
      }
    });
  }

  it('R18 on a single server: every key under options.prefix, node-redis and ioredis wait and release with no denied command', async () => {
    const server = await Server.start();
    servers.push(server);
    const user = await setUser(server, [IOREDIS_READY_CHECK]);
    const ports = [server.port];
    const name = await exercise(
      (['node-redis', 'ioredis'] as Kind[]).map((kind) => ({ kind, cluster: false, ports, user })),
    );
    const keys = (await server.cli('--scan', '--pattern', `*{${name}}*`)).split('\n');
    expect(keys.length).to.be.above(0);
    expect(keys.every((key) => key.startsWith('app:'))).to.equal(true);
    expect(await denied(server)).to.deep.equal([]);
  });
});
