/**
 * R17 durability on demand: `replicas: n` makes every change wait until n
 * replicas have it (WAIT, bounded by retryFor), on a master and a replica
 * of the test's own (REPLICAOF).
 */

import { expect } from 'chai';
import { RedisWaitGroup } from '../../lib/redis/index.js';
import { expectRejection } from '../helpers/async.js';
import { expectWaitGroupErrorValue } from '../helpers/waitgroup.js';
import { type Connected, connect, type Kind } from './support/clients.js';
import { uniqueName } from './support/env.js';
import { until } from './support/members.js';
import { Server } from './support/servers.js';

describe('R17 replicas: n', function () {
  this.timeout(60_000);
  let master: Server;
  let replica: Server;
  const opened: Connected[] = [];

  beforeEach(async () => {
    [master, replica] = await Promise.all([Server.start(), Server.start()]);
    // A full sync starts at once, not after diskless sync's default delay of 5 s.
    await master.cli('CONFIG', 'SET', 'repl-diskless-sync-delay', '0');
    await replica.cli('REPLICAOF', '127.0.0.1', String(master.port));
    await until(
      async () => (await master.cli('INFO', 'replication')).includes('state=online'),
      'the replica is in sync',
    );
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((c) => c.close().catch(() => {})));
    await Promise.all([master.stop(), replica.stop()]);
  });

  for (const kind of ['node-redis', 'ioredis'] as Kind[]) {
    it(`resolves each change only once the replica has it, and rejects with ERR_WAITGROUP_UNAVAILABLE when it does not answer (${kind})`, async () => {
      const connected = await connect({ kind, cluster: false, ports: [master.port] });
      opened.push(connected);
      const name = uniqueName();
      const wg = await RedisWaitGroup.create(connected.client, name, {
        replicas: 1,
        retryFor: 3000,
      });
      const key = `awaitgroup:{${name}}`;
      await wg.add(3);
      // WAIT returned: the replica has the change, read right after the call resolved.
      expect(await replica.cli('HGET', key, 'counter')).to.equal('3');
      await wg.done({ id: 'a' });
      expect(await replica.cli('HGET', key, 'counter')).to.equal('2');
      await replica.kill();
      const error = expectWaitGroupErrorValue(
        await expectRejection(wg.done({ id: 'b' })),
        'ERR_WAITGROUP_UNAVAILABLE',
        'awaitgroup: Redis did not answer',
      );
      expect(error.message).to.include('replicas');
      expect(
        await expectRejection(RedisWaitGroup.create(connected.client, name, { replicas: -1 })),
      ).to.be.an.instanceOf(RangeError);
    });
  }
});
