import { expect } from 'chai';
import { WaitGroup } from '../../lib/index.js';
import { expectState } from '../helpers/waitgroup.js';
import { runFixture, stopFixtures } from './child.js';

describe('D1 debug mode', () => {
  afterEach(stopFixtures);

  it('is off by default (no AWAITGROUP_DEBUG here): unfinished() is one anonymous unit', () => {
    const wg = new WaitGroup();
    wg.add(2);
    wg.go(() => new Promise<void>(() => {}), { name: 'never' });
    expect(wg.unfinished()).to.deep.equal([
      { name: undefined, site: undefined, since: undefined, count: 3 },
    ]);
  });

  it('is on with { debug: true }, for local and shared groups', () => {
    for (const shared of [false, true]) {
      const wg = new WaitGroup({ shared, debug: true });
      wg.add(1);
      const [unit] = wg.unfinished();
      expect(unit?.site, `shared: ${shared}`).to.be.a('string');
      expect(unit?.since).to.be.a('number');
      wg.done();
    }
  });

  it('refuses a debug option that is not a boolean, with a TypeError naming it', () => {
    for (const debug of [1, 'true', null]) {
      expect(() => new WaitGroup({ debug } as never)).to.throw(
        TypeError,
        /^new WaitGroup: options\.debug must be a boolean, got /,
      );
    }
  });

  it('go(fn, { name }) is accepted in both modes; malformed options are a TypeError and add nothing', async () => {
    for (const debug of [false, true]) {
      const wg = new WaitGroup({ debug });
      expect(await wg.go(() => 7, { name: 'seven' })).to.equal(7);
      expect(await wg.go(() => 8, {})).to.equal(8);
      expect(() => wg.go(() => 1, { name: 5 } as never)).to.throw(
        TypeError,
        'go: options.name must be a string, got 5 (number)',
      );
      expect(() => wg.go(() => 1, 'name' as never)).to.throw(
        TypeError,
        /^go: options must be an object like \{ name: 'fetch \/a' \}, got /,
      );
      expectState(wg, 0, 0);
      expect(wg.unfinished(), `debug: ${debug}`).to.deep.equal([]);
    }
  });

  it('AWAITGROUP_DEBUG=1 turns it on for every group; an explicit { debug: false } wins', async () => {
    const on = await runFixture('diagnostics-exit', {
      args: ['in-a-function'],
      env: { AWAITGROUP_DEBUG: '1' },
    });
    expect(on.stderr).to.include('[AWAITGROUP_PENDING_WAIT]');
    const off = await runFixture('diagnostics-exit', {
      args: ['debug-off'],
      env: { AWAITGROUP_DEBUG: '1' },
    });
    expect(off.stderr).to.not.include('AWAITGROUP_PENDING_WAIT');
  });

  it('without a process global (a browser), AWAITGROUP_DEBUG cannot turn it on; { debug: true } works, with no listener', async () => {
    const outcome = await runFixture('diagnostics-no-process', { env: { AWAITGROUP_DEBUG: '1' } });
    expect(outcome.code, outcome.stderr).to.equal(0);
    expect(outcome.stderr).to.equal('');
    expect(JSON.parse(outcome.stdout)).to.deep.equal({
      process: 'undefined',
      byEnv: [{ count: 1 }],
      explicit: [{ count: 2 }],
      explicitSites: true,
      listeners: 0,
    });
  });
});
