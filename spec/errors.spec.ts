import { expect } from 'chai';
import {
  cannotBlock,
  counterOverflow,
  deadlock,
  describe as describeValue,
  errGroupClosed,
  errGroupTaskFailed,
  groupExists,
  groupLost,
  misuse,
  negativeCounter,
  noSharedMemory,
  notShared,
  reused,
  taskLost,
  unavailable,
  type WaitGroupError,
  type WaitGroupErrorCode,
} from '../lib/errors.js';
import { expectWaitGroupErrorValue, MESSAGE_PREFIX } from './helpers/waitgroup.js';

describe('errors (SPEC §5)', () => {
  const factories: [WaitGroupErrorCode, () => WaitGroupError][] = [
    ['ERR_WAITGROUP_NEGATIVE_COUNTER', () => negativeCounter(0, -1)],
    ['ERR_WAITGROUP_COUNTER_OVERFLOW', () => counterOverflow(2 ** 31 - 1, 1)],
    ['ERR_WAITGROUP_MISUSE', misuse],
    ['ERR_WAITGROUP_REUSED', reused],
    ['ERR_WAITGROUP_DEADLOCK', deadlock],
    ['ERR_WAITGROUP_CANNOT_BLOCK', cannotBlock],
    ['ERR_WAITGROUP_NOT_SHARED', notShared],
    ['ERR_WAITGROUP_NO_SHARED_MEMORY', noSharedMemory],
    ['ERR_ERRGROUP_CLOSED', errGroupClosed],
    ['ERR_ERRGROUP_TASK_FAILED', errGroupTaskFailed],
    ['ERR_WAITGROUP_EXISTS', () => groupExists('batch')],
    ['ERR_WAITGROUP_LOST', () => groupLost('batch', 'no longer exists in Redis')],
    ['ERR_WAITGROUP_TASK_LOST', () => taskLost('"resize"', 'host a, pid 7')],
    ['ERR_WAITGROUP_UNAVAILABLE', () => unavailable('Redis did not answer within 30000 ms')],
  ];

  it('covers every code of the table', () => {
    expect(factories.map(([code]) => code).sort()).to.deep.equal(
      Object.keys(MESSAGE_PREFIX).sort(),
    );
  });

  for (const [code, make] of factories) {
    it(`${code}: a fresh WaitGroupError whose message starts with “${MESSAGE_PREFIX[code]}”`, () => {
      const error = expectWaitGroupErrorValue(make(), code);
      expect(make()).to.not.equal(error);
      // Messages say what to do, after what was wrong.
      expect(error.message.length).to.be.greaterThan(MESSAGE_PREFIX[code].length + 20);
    });
  }

  it('NEGATIVE_COUNTER and COUNTER_OVERFLOW echo the counter and the delta', () => {
    expect(negativeCounter(3, -5).message).to.contain('(counter 3, delta -5)');
    expect(counterOverflow(7, 2 ** 31).message).to.contain(`(counter 7, delta ${2 ** 31})`);
  });

  it('MISUSE is Go’s panic text', () => {
    expect(misuse().message).to.match(
      /^sync: WaitGroup misuse: Add called concurrently with Wait; /,
    );
  });

  it('CANNOT_BLOCK says to use await wg.wait()', () => {
    expect(cannotBlock().message).to.contain('await wg.wait()');
  });

  it('NO_SHARED_MEMORY names the COOP/COEP headers and the local alternative', () => {
    const { message } = noSharedMemory();
    expect(message).to.contain('Cross-Origin-Opener-Policy: same-origin');
    expect(message).to.contain('Cross-Origin-Embedder-Policy: require-corp');
    expect(message).to.contain('new WaitGroup()');
  });

  describe('describe(value) renders a bad argument with its type', () => {
    const cases: [string, unknown, string][] = [
      ['a number', 1.5, '1.5 (number)'],
      ['NaN', Number.NaN, 'NaN (number)'],
      ['-0', -0, '0 (number)'],
      ['a string, quoted', 'a"b', '"a\\"b" (string)'],
      ['a bigint', 1n, '1n (bigint)'],
      ['a boolean', true, 'true (boolean)'],
      ['undefined', undefined, 'undefined (undefined)'],
      ['null', null, 'null (null)'],
      ['a symbol', Symbol('s'), 'Symbol(s) (symbol)'],
      ['a named function', function named() {}, 'function named (function)'],
      ['an anonymous function', (() => () => {})(), 'function (function)'],
      ['a plain object', {}, '[object Object] (object)'],
      ['an array', [1], '[object Array] (object)'],
      ['a SharedArrayBuffer', new SharedArrayBuffer(1), '[object SharedArrayBuffer] (object)'],
    ];
    for (const [name, value, text] of cases) {
      it(name, () => {
        expect(describeValue(value)).to.equal(text);
      });
    }
  });
});
