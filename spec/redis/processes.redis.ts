/**
 * Many real processes on one group (R4, R5, R11, R12): forked members
 * coordinated over IPC, on each client and topology.
 */

import { hostname } from 'node:os';
import { expect } from 'chai';
import { RedisWaitGroup } from '../../lib/redis/index.js';
import { expectPending, expectRejection } from '../helpers/async.js';
import { expectWaitGroupErrorValue } from '../helpers/waitgroup.js';
import { type Connected, connect, type Target } from './support/clients.js';
import { label, MATRIX, sharedCluster, sharedServer, targetOf, uniqueName } from './support/env.js';
import { type Answer, Member, until } from './support/members.js';

for (const { kind, cluster } of MATRIX) {
  describe(`RedisWaitGroup across processes (${label(kind, cluster)})`, function () {
    this.timeout(60_000);
    let target: Target;
    let connected: Connected;
    let client: Connected['client'];

    before(async function () {
      this.timeout(60_000);
      target = await targetOf(kind, cluster);
    });
    beforeEach(async () => {
      connected = await connect(target);
      client = connected.client;
    });
    afterEach(async () => {
      await connected.close();
    });

    const members = (n: number): Promise<Member[]> =>
      Promise.all(Array.from({ length: n }, () => Member.start(target)));
    const registered = (wg: RedisWaitGroup, n: number): Promise<void> =>
      until(async () => (await wg.state()).waiters === n, `${n} waiters are registered`);

    it('R4 R5 releases the waits of 4 processes exactly when the last done is applied, never before', async () => {
      const wg = await RedisWaitGroup.create(client, uniqueName());
      const jobs = 6;
      await wg.add(jobs);
      const [w1, w2, w3, w4, d1, d2] = await members(6);
      const waiters = [w1, w2, w3, w4] as Member[];
      const workers = [d1, d2] as Member[];
      for (const member of [...waiters, ...workers])
        await member.ok('attach', { handle: wg.handle });
      const answers: (Answer | undefined)[] = waiters.map(() => undefined);
      const waits = waiters.map((member, i) =>
        member.request('wait').then((answer) => {
          answers[i] = answer;
        }),
      );
      await registered(wg, 4);
      for (let job = 0; job < jobs - 1; job++) {
        await (workers[job % 2] as Member).ok('done', { doneId: `job-${job}` });
        // A round trip to each waiter: its wait has not settled.
        for (const member of waiters) await member.ok('state');
        expect(answers, `after done ${job + 1} of ${jobs}`).to.deep.equal([
          undefined,
          undefined,
          undefined,
          undefined,
        ]);
      }
      await (d2 as Member).ok('done', { doneId: `job-${jobs - 1}` });
      await Promise.all(waits);
      expect(answers.map((answer) => answer?.ok)).to.deep.equal([true, true, true, true]);
      expect(await wg.state()).to.deep.equal({ counter: 0, waiters: 0 });
    });

    it('R5 releases every round while every client connection is killed in a loop (CLIENT KILL)', async () => {
      const wg = await RedisWaitGroup.create(client, uniqueName());
      const [a, b, worker] = (await members(3)) as [Member, Member, Member];
      for (const member of [a, b, worker]) await member.ok('attach', { handle: wg.handle });
      const servers = cluster ? (await sharedCluster()).nodes : [await sharedServer()];
      let killing = true;
      let kills = 0;
      const killer = (async () => {
        while (killing) {
          await Promise.all(
            servers.map((server) =>
              server.cli('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes'),
            ),
          );
          kills++;
          await new Promise((resolve) => setTimeout(resolve, 30));
        }
      })();
      try {
        for (let round = 0; round < 6; round++) {
          await worker.ok('add', { delta: 2 });
          const waits = [a.ok('wait'), b.ok('wait')];
          await registered(wg, 2);
          await worker.ok('done');
          await worker.ok('done');
          await Promise.all(waits);
        }
      } finally {
        killing = false;
        await killer;
      }
      expect(kills).to.be.greaterThan(0);
      expect(await wg.state()).to.deep.equal({ counter: 0, waiters: 0 });
    });

    it('R11 a SIGKILLed worker holding a go() lease makes pending waits reject with ERR_WAITGROUP_TASK_LOST, naming task and owner', async () => {
      const wg = await RedisWaitGroup.create(client, uniqueName());
      const [worker] = (await members(1)) as [Member];
      await worker.ok('attach', { handle: wg.handle, options: { lease: 300 } });
      const pid = await worker.ok('go', { name: 'resize img-7' });
      const waiting = wg.wait();
      waiting.catch(() => {}); // asserted below; it may reject while the worker is being killed
      await registered(wg, 1);
      await worker.kill();
      const error = expectWaitGroupErrorValue(
        await expectRejection(waiting),
        'ERR_WAITGROUP_TASK_LOST',
      );
      expect(error.message).to.include('"resize img-7"');
      expect(error.message).to.include(`host ${hostname()} pid ${pid}`);
      expectWaitGroupErrorValue(await expectRejection(wg.wait()), 'ERR_WAITGROUP_TASK_LOST');
    });

    it('R11 a live worker renews its lease: a task longer than the lease does not count as lost', async () => {
      const wg = await RedisWaitGroup.create(client, uniqueName());
      const [worker] = (await members(1)) as [Member];
      // 600 ms, renewed every 200 ms: 400 ms of slack for a loaded 2-core machine.
      await worker.ok('attach', { handle: wg.handle, options: { lease: 600 } });
      await worker.ok('go', { name: 'long' });
      await wg.add(1);
      const waiting = wg.wait();
      waiting.catch(() => {}); // asserted below
      await registered(wg, 1);
      // Five lease lengths, measured by the waiter's own re-checks: each reads the leases.
      const until5 = Date.now() + 3000;
      await until(async () => Date.now() > until5, 'five lease lengths have passed', 10_000);
      await expectPending(waiting, 'the live task did not count as lost');
      expect(await wg.state()).to.deep.equal({ counter: 2, waiters: 1 });
      await worker.kill();
      expectWaitGroupErrorValue(await expectRejection(waiting), 'ERR_WAITGROUP_TASK_LOST');
    });

    it('R12 a SIGKILLed waiter process does not keep the others from being released', async () => {
      const wg = await RedisWaitGroup.create(client, uniqueName());
      await wg.add(1);
      const [doomed, survivor] = (await members(2)) as [Member, Member];
      for (const member of [doomed, survivor]) await member.ok('attach', { handle: wg.handle });
      void doomed.request('wait');
      const waiting = survivor.ok('wait');
      await registered(wg, 2);
      await doomed.kill();
      await wg.done();
      await waiting;
      expect(await wg.state()).to.deep.equal({ counter: 0, waiters: 0 });
    });
  });
}
