/**
 * Assertions about WaitGroups that many suites share: errors checked by
 * class, code and message prefix (SPEC §5), and recovery after a misuse
 * (STYLE.md 12). They work for local and shared groups alike.
 *
 * @module
 */

import { expect } from 'chai';
import { type WaitGroup, WaitGroupError, type WaitGroupErrorCode } from '../../lib/index.js';
import { expectPending, expectRejection } from './async.js';

/** The start of each code's message, from SPEC §5. */
export const MESSAGE_PREFIX: { readonly [code in WaitGroupErrorCode]: string } = {
  ERR_WAITGROUP_NEGATIVE_COUNTER: 'sync: negative WaitGroup counter',
  ERR_WAITGROUP_COUNTER_OVERFLOW: 'awaitgroup: counter would exceed 2147483647',
  ERR_WAITGROUP_MISUSE: 'sync: WaitGroup misuse: Add called concurrently with Wait',
  ERR_WAITGROUP_REUSED: 'sync: WaitGroup is reused before previous Wait has returned',
  ERR_WAITGROUP_DEADLOCK: 'awaitgroup: waitSync on a local WaitGroup would block forever',
  ERR_WAITGROUP_CANNOT_BLOCK: 'awaitgroup: this thread may not block',
  ERR_WAITGROUP_NOT_SHARED: 'awaitgroup: this WaitGroup is local',
  ERR_WAITGROUP_NO_SHARED_MEMORY: 'awaitgroup: SharedArrayBuffer is not available',
  ERR_ERRGROUP_CLOSED: 'awaitgroup: this ErrGroup has finished',
  ERR_WAITGROUP_EXISTS: 'awaitgroup: a group named',
  ERR_WAITGROUP_LOST: "awaitgroup: the group's state is gone",
  ERR_WAITGROUP_TASK_LOST: "awaitgroup: a task's owner stopped",
  ERR_ERRGROUP_TASK_FAILED: 'awaitgroup: a task rejected with no reason',
  ERR_WAITGROUP_UNAVAILABLE: 'awaitgroup: ',
};

/**
 * expectWaitGroupErrorValue asserts that `error` is a WaitGroupError with
 * `code`, whose message starts with `messagePrefix` (default: SPEC §5's
 * prefix for `code`), and returns it.
 */
export function expectWaitGroupErrorValue(
  error: unknown,
  code: WaitGroupErrorCode,
  messagePrefix: string = MESSAGE_PREFIX[code],
): WaitGroupError {
  expect(error).to.be.an.instanceOf(WaitGroupError);
  const e = error as WaitGroupError;
  expect(e.name).to.equal('WaitGroupError');
  expect(e.code).to.equal(code);
  expect(e.message.startsWith(messagePrefix), `message ${JSON.stringify(e.message)}`).to.equal(
    true,
  );
  return e;
}

/**
 * expectWaitGroupError calls `fn`, asserts that it throws a WaitGroupError
 * with `code` and a message starting with `messagePrefix` (default: SPEC
 * §5's prefix for `code`), and returns the error.
 */
export function expectWaitGroupError(
  fn: () => unknown,
  code: WaitGroupErrorCode,
  messagePrefix?: string,
): WaitGroupError {
  let thrown: unknown;
  let threw = false;
  try {
    fn();
  } catch (error) {
    thrown = error;
    threw = true;
  }
  expect(threw, `expected ${code} to be thrown`).to.equal(true);
  return expectWaitGroupErrorValue(thrown, code, messagePrefix);
}

/**
 * expectWaitGroupRejection awaits `promise` and asserts that it rejects with
 * a WaitGroupError with `code` (message as for {@link expectWaitGroupError}).
 */
export async function expectWaitGroupRejection(
  promise: Promise<unknown>,
  code: WaitGroupErrorCode,
  messagePrefix?: string,
): Promise<WaitGroupError> {
  return expectWaitGroupErrorValue(await expectRejection(promise), code, messagePrefix);
}

/**
 * expectState asserts the group's counter and waiters.
 */
export function expectState(wg: WaitGroup, counter: number, waiters: number): void {
  expect({ counter: wg.counter, waiters: wg.waiters }).to.deep.equal({ counter, waiters });
}

/**
 * expectRecovered asserts that an idle group (counter 0, no waiters) still
 * works: `add(1)`, a `wait()` that stays pending, `done()`, and the wait
 * resolves, leaving the group idle again.
 */
export async function expectRecovered(wg: WaitGroup): Promise<void> {
  expectState(wg, 0, 0);
  wg.add(1);
  expectState(wg, 1, 0);
  const waiting = wg.wait();
  expectState(wg, 1, 1);
  await expectPending(waiting);
  wg.done();
  expectState(wg, 0, 0);
  await waiting;
  expectState(wg, 0, 0);
}
