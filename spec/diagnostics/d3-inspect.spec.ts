import { inspect } from 'node:util';
import { expect } from 'chai';
import { WaitGroup } from '../../lib/index.js';

describe('D3 util.inspect in debug mode', () => {
  it('lists the unfinished units after S13 fields', () => {
    const wg = new WaitGroup({ debug: true });
    wg.go(() => new Promise<void>(() => {}), { name: 'fetch /a' });
    wg.add(2);
    const [task, added] = wg.unfinished();
    const text = inspect(wg, { breakLength: Number.POSITIVE_INFINITY });
    expect(text).to.equal(
      'WaitGroup { counter: 3, waiters: 0, shared: false, unfinished: [ ' +
        `{ name: 'fetch /a', site: '${task?.site}', since: ${task?.since}, count: 1 }, ` +
        `{ name: undefined, site: '${added?.site}', since: ${added?.since}, count: 2 } ] }`,
    );
  });

  it('shows an empty list once every unit is done', () => {
    const wg = new WaitGroup({ debug: true });
    wg.add(1);
    wg.done();
    expect(inspect(wg)).to.equal(
      'WaitGroup { counter: 0, waiters: 0, shared: false, unfinished: [] }',
    );
  });

  it("keeps S13's form when debug mode is off", () => {
    const wg = new WaitGroup({ debug: false });
    wg.add(2);
    expect(inspect(wg)).to.equal('WaitGroup { counter: 2, waiters: 0, shared: false }');
  });
});
