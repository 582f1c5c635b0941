import { inspect } from 'node:util';
import { expect } from 'chai';
import { WaitGroup } from '../../lib/index.js';
import { relative } from './child.js';

/** literal makes `text` a literal part of a RegExp. */
function literal(text: string | undefined): string {
  return (text ?? '').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

describe('D3 util.inspect in debug mode', () => {
  it('lists the unfinished units after S13 fields, each with its site and age, on one line when it fits', () => {
    const wg = new WaitGroup({ debug: true });
    wg.go(() => new Promise<void>(() => {}), { name: 'fetch /a' });
    wg.add(2);
    const [task, added] = wg.unfinished().map((unit) => relative(unit.site ?? ''));
    const text = inspect(wg, { breakLength: Number.POSITIVE_INFINITY });
    expect(text).to.match(
      new RegExp(
        `^WaitGroup \\{ counter: 3, waiters: 0, shared: false, unfinished: \\[ ` +
          `fetch /a \\(added at ${literal(task)}, \\d+\\.\\d s ago\\), ` +
          `add\\(\\) ×2 \\(added at ${literal(added)}, \\d+\\.\\d s ago\\) \\] \\}$`,
      ),
    );
  });

  it('puts one unit on each line when the list does not fit, and shows ages, not raw times', () => {
    const wg = new WaitGroup({ debug: true });
    wg.add(1);
    wg.go(() => new Promise<void>(() => {}), { name: 'fetch /b' });
    const text = inspect(wg, { breakLength: 80 });
    const lines = text.split('\n');
    expect(lines[0]).to.equal('WaitGroup { counter: 2, waiters: 0, shared: false, unfinished: [');
    expect(lines[1]).to.match(/^ {2}add\(\) \(added at \S+, \d+\.\d s ago\),$/);
    expect(lines[2]).to.match(/^ {2}fetch \/b \(added at \S+, \d+\.\d s ago\)$/);
    expect(lines[3]).to.equal('] }');
    expect(text).to.not.match(/\d{13}/); // no Date.now() value
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
