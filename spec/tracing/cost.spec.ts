/**
 * T2: with no subscriber, tracing allocates nothing per task. Measured in a
 * child process with V8's sampling heap profiler (bytes, not time), against
 * the same fan-out written by hand and against the library with the
 * runtime's diagnostics_channel hidden from it. See fixtures/allocations.ts.
 */

import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { collect, stopChildren } from '../helpers/child.js';

/** How long a child may run before the hang guard kills it. */
const HANG_GUARD_MS = 120_000;

/**
 * Bytes per task that count as "nothing": far below the smallest object a
 * trace would add (a context object is 40 B or more), far above the
 * sampling noise (about 0.5 B per task at this sample size).
 */
const NOISE = 8;

/**
 * The same for an ErrGroup task, whose own allocation differs by up to 15 B
 * from one process to the next on Node 22 (185 or 197 B, with the channels
 * there or hidden alike: V8's tier-up decisions), still below the smallest
 * object a trace would add (a context object of four fields is 28 B).
 */
const ERRGROUP_NOISE = 20;

async function measure(hidden: boolean): Promise<Record<string, number>> {
  const file = fileURLToPath(new URL('./fixtures/allocations.js', import.meta.url));
  const args = ['--unhandled-rejections=strict', file, ...(hidden ? ['hidden'] : [])];
  const outcome = await collect(
    spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] }),
    HANG_GUARD_MS,
  );
  const shown = `stdout:\n${outcome.stdout}\nstderr:\n${outcome.stderr}`;
  expect(outcome.code, shown).to.equal(0);
  return JSON.parse(outcome.stdout) as Record<string, number>;
}

describe('T2 cost: no subscriber, no allocation', function () {
  this.timeout(2 * HANG_GUARD_MS + 10_000);
  let visible: Record<string, number>;
  let hidden: Record<string, number>;

  before(async () => {
    visible = await measure(false);
    hidden = await measure(true);
  });
  after(stopChildren);

  it('a go() task allocates no more than add(1) and one then(done, done) written by hand', () => {
    expect(visible.go, JSON.stringify(visible)).to.be.at.most((visible.reference ?? 0) + NOISE);
  });

  it('a go() task allocates what it allocates where there is no diagnostics_channel', () => {
    expect(visible.go, JSON.stringify({ visible, hidden })).to.be.at.most((hidden.go ?? 0) + NOISE);
  });

  it('an ErrGroup task allocates what it allocates where there is no diagnostics_channel', () => {
    expect(visible.errgroup, JSON.stringify({ visible, hidden })).to.be.at.most(
      (hidden.errgroup ?? 0) + ERRGROUP_NOISE,
    );
  });

  it('the measure sees a trace: one subscriber makes a task allocate its trace', () => {
    expect(visible.subscribed, JSON.stringify(visible)).to.be.at.least((visible.go ?? 0) + 100);
    expect(hidden.subscribed, JSON.stringify(hidden)).to.be.at.most((hidden.go ?? 0) + NOISE);
  });

  it('after the subscriber leaves, a task allocates nothing for tracing again', () => {
    expect(visible.unsubscribed, JSON.stringify(visible)).to.be.at.most((visible.go ?? 0) + NOISE);
  });
});
