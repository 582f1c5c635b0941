import { expect } from 'chai';
import {
  AddOutcome,
  addToWord,
  COUNTER_MINUS_ONE,
  COUNTER_ONE,
  COUNTER_SHIFT,
  classifyAdd,
  counterOf,
  EMPTY_WORD,
  hasMostWaiters,
  isCounterZero,
  isRegistered,
  MAX_COUNTER,
  MAX_WAITERS,
  MAX_WORD,
  pack,
  WAITER_MASK,
  waitersOf,
  withoutWaiter,
  withWaiter,
  wrapWord,
} from '../lib/state.js';

const TWO_64 = 1n << 64n;
const TWO_63 = 1n << 63n;

/** classify runs classifyAdd as the WaitGroup does: next is word + delta, exact. */
function classify(counter: number, waiters: number, delta: number) {
  const word = pack(counter, waiters);
  const next = addToWord(word, delta);
  return { outcome: classifyAdd(word, next, delta), next };
}

describe('state: the packed word', () => {
  describe('constants', () => {
    it('lays the counter in the high half and the waiters in the low half', () => {
      expect(COUNTER_SHIFT).to.equal(32n);
      expect(WAITER_MASK).to.equal(0xffff_ffffn);
      expect(COUNTER_ONE).to.equal(0x1_0000_0000n);
      expect(COUNTER_MINUS_ONE).to.equal(-0x1_0000_0000n);
      expect(MAX_COUNTER).to.equal(2 ** 31 - 1);
      expect(MAX_WAITERS).to.equal(2 ** 32 - 1);
      expect(MAX_WORD).to.equal(TWO_63 - 1n);
      expect(EMPTY_WORD).to.equal(0n);
    });

    it('MAX_WORD is the largest counter with the most waiters', () => {
      expect(pack(MAX_COUNTER, MAX_WAITERS)).to.equal(MAX_WORD);
    });
  });

  describe('pack / counterOf / waitersOf', () => {
    const counters = [0, 1, 2, 0x7fff_ffff, -1, -(2 ** 31)];
    const waiters = [0, 1, 2, 0xffff_ffff];
    for (const c of counters) {
      for (const w of waiters) {
        it(`round-trips counter ${c}, waiters ${w}`, () => {
          const word = pack(c, w);
          expect(counterOf(word)).to.equal(c);
          expect(waitersOf(word)).to.equal(w);
          expect(word >= -TWO_63 && word < TWO_63, 'word fits an int64').to.equal(true);
        });
      }
    }

    it('reads the word of counter 1 and 3 waiters', () => {
      expect(pack(1, 3)).to.equal((1n << 32n) + 3n);
    });

    it('a negative counter makes a negative word (the sign of the word is the sign of the counter)', () => {
      expect(pack(-1, 0)).to.equal(-COUNTER_ONE);
      expect(pack(-1, 0xffff_ffff)).to.equal(-1n);
      expect(counterOf(-1n)).to.equal(-1);
      expect(waitersOf(-1n)).to.equal(0xffff_ffff);
      expect(pack(0x7fff_ffff, 0) > 0n).to.equal(true);
    });

    it('takes counter and waiters modulo 2^32 as Go conversions do', () => {
      expect(pack(2 ** 31, 0)).to.equal(pack(-(2 ** 31), 0));
      expect(counterOf(pack(2 ** 31, 0))).to.equal(-(2 ** 31));
      expect(counterOf(pack(2 ** 32, 5))).to.equal(0);
      expect(waitersOf(pack(0, 2 ** 32))).to.equal(0);
      expect(waitersOf(pack(0, 2 ** 32 + 7))).to.equal(7);
      expect(waitersOf(pack(0, -1))).to.equal(0xffff_ffff);
    });

    it('counterOf reads the high half of a wrapped word as int32', () => {
      expect(counterOf(wrapWord(TWO_63))).to.equal(-(2 ** 31));
      expect(counterOf(wrapWord(MAX_WORD + COUNTER_ONE))).to.equal(-(2 ** 31));
    });
  });

  describe('wrapWord', () => {
    const cases: [bigint, bigint][] = [
      [0n, 0n],
      [1n, 1n],
      [-1n, -1n],
      [TWO_63 - 1n, TWO_63 - 1n],
      [TWO_63, -TWO_63],
      [-TWO_63, -TWO_63],
      [-TWO_63 - 1n, TWO_63 - 1n],
      [TWO_64, 0n],
      [TWO_64 + 5n, 5n],
      [TWO_64 - 1n, -1n],
      [-TWO_64, 0n],
    ];
    for (const [word, wrapped] of cases) {
      it(`wraps ${word} to ${wrapped}`, () => {
        expect(wrapWord(word)).to.equal(wrapped);
      });
    }

    it('is what a BigInt64Array stores', () => {
      const cell = new BigInt64Array(1);
      for (const [word] of cases) {
        cell[0] = word;
        expect(cell[0]).to.equal(wrapWord(word));
      }
    });

    it('makes pack(-1, 0) read back -1 after arithmetic mod 2^64', () => {
      const word = wrapWord(pack(0, 0) + COUNTER_MINUS_ONE + TWO_64);
      expect(counterOf(word)).to.equal(-1);
      expect(waitersOf(word)).to.equal(0);
    });
  });

  describe('addToWord', () => {
    it('adds one unit of the counter for 1 and takes one for -1', () => {
      const word = pack(5, 3);
      expect(addToWord(word, 1)).to.equal(word + COUNTER_ONE);
      expect(addToWord(word, -1)).to.equal(word + COUNTER_MINUS_ONE);
      expect(counterOf(addToWord(word, 1))).to.equal(6);
      expect(counterOf(addToWord(word, -1))).to.equal(4);
    });

    for (const delta of [0, -0, 2, -2, 0x7fff_ffff, -(2 ** 31), Number.MAX_SAFE_INTEGER]) {
      it(`adds ${Object.is(delta, -0) ? '-0' : delta} to the high half, exact`, () => {
        const word = pack(7, 1);
        expect(addToWord(word, delta)).to.equal(word + (BigInt(delta) << 32n));
      });
    }

    it('does not wrap: the largest word plus one unit is above the int64 range', () => {
      expect(addToWord(MAX_WORD, 1)).to.equal(MAX_WORD + COUNTER_ONE);
      expect(addToWord(EMPTY_WORD, -1)).to.equal(-COUNTER_ONE);
    });
  });

  describe('classifyAdd', () => {
    it('Update: counter up from 0 without waiters', () => {
      expect(classify(0, 0, 1)).to.deep.equal({ outcome: AddOutcome.Update, next: pack(1, 0) });
    });

    it('Update: counter up while waiters are registered (counter > 0)', () => {
      expect(classify(1, 3, 1)).to.deep.equal({ outcome: AddOutcome.Update, next: pack(2, 3) });
    });

    it('Update: counter down to a positive value', () => {
      expect(classify(2, 3, -1)).to.deep.equal({ outcome: AddOutcome.Update, next: pack(1, 3) });
    });

    it('Update: (1, 0) minus 1 is 0n, with nobody to release', () => {
      expect(classify(1, 0, -1)).to.deep.equal({ outcome: AddOutcome.Update, next: 0n });
    });

    it('Update: add(0) on an empty word and on a busy word', () => {
      expect(classify(0, 0, 0)).to.deep.equal({ outcome: AddOutcome.Update, next: 0n });
      expect(classify(4, 2, 0)).to.deep.equal({ outcome: AddOutcome.Update, next: pack(4, 2) });
    });

    it('Update: up to exactly 2^31 - 1', () => {
      expect(classify(MAX_COUNTER - 1, MAX_WAITERS, 1)).to.deep.equal({
        outcome: AddOutcome.Update,
        next: MAX_WORD,
      });
      expect(classify(0, 0, MAX_COUNTER)).to.deep.equal({
        outcome: AddOutcome.Update,
        next: pack(MAX_COUNTER, 0),
      });
    });

    it('Release: (1, 3) minus 1, next === 3n (the number to release)', () => {
      const { outcome, next } = classify(1, 3, -1);
      expect(outcome).to.equal(AddOutcome.Release);
      expect(next).to.equal(3n);
    });

    it('Release: the most waiters the word counts', () => {
      expect(classify(5, MAX_WAITERS, -5)).to.deep.equal({
        outcome: AddOutcome.Release,
        next: BigInt(MAX_WAITERS),
      });
    });

    it('Negative: 0 minus 1', () => {
      expect(classify(0, 0, -1).outcome).to.equal(AddOutcome.Negative);
    });

    it('Negative: 1 minus 2, with or without waiters', () => {
      expect(classify(1, 0, -2).outcome).to.equal(AddOutcome.Negative);
      expect(classify(1, 7, -2).outcome).to.equal(AddOutcome.Negative);
    });

    it('Negative: the most negative safe delta', () => {
      expect(classify(MAX_COUNTER, MAX_WAITERS, -Number.MAX_SAFE_INTEGER).outcome).to.equal(
        AddOutcome.Negative,
      );
    });

    it('Overflow: 2^31 - 1 plus 1, with or without waiters', () => {
      expect(classify(MAX_COUNTER, 0, 1).outcome).to.equal(AddOutcome.Overflow);
      expect(classify(MAX_COUNTER, MAX_WAITERS, 1).outcome).to.equal(AddOutcome.Overflow);
    });

    it('Overflow: 0 plus 2^31, and the largest safe delta', () => {
      expect(classify(0, 0, 2 ** 31).outcome).to.equal(AddOutcome.Overflow);
      expect(classify(0, 0, Number.MAX_SAFE_INTEGER).outcome).to.equal(AddOutcome.Overflow);
    });

    it('Overflow is checked before Misuse, as Go does', () => {
      expect(classify(0, 1, 2 ** 31).outcome).to.equal(AddOutcome.Overflow);
    });

    it('Misuse: (0, w > 0) plus 1', () => {
      expect(classify(0, 1, 1).outcome).to.equal(AddOutcome.Misuse);
      expect(classify(0, MAX_WAITERS, 1).outcome).to.equal(AddOutcome.Misuse);
      expect(classify(0, 2, 5).outcome).to.equal(AddOutcome.Misuse);
    });

    it('not Misuse: a positive add from counter > 0 with waiters, or from (0, 0)', () => {
      expect(classify(1, 1, 1).outcome).to.equal(AddOutcome.Update);
      expect(classify(0, 0, 1).outcome).to.equal(AddOutcome.Update);
    });

    it('add(0) on (0, w > 0) releases the w waiters, as Go does', () => {
      expect(classify(0, 2, 0)).to.deep.equal({ outcome: AddOutcome.Release, next: 2n });
    });

    it('checks Negative only after the counter-positive cases: (0, w) minus 1 is Negative', () => {
      expect(classify(0, 3, -1).outcome).to.equal(AddOutcome.Negative);
    });
  });

  describe('isCounterZero / withWaiter', () => {
    it('tells counter 0 by comparing with COUNTER_ONE', () => {
      expect(isCounterZero(pack(0, 0))).to.equal(true);
      expect(isCounterZero(pack(0, MAX_WAITERS))).to.equal(true);
      expect(isCounterZero(pack(1, 0))).to.equal(false);
      expect(isCounterZero(MAX_WORD)).to.equal(false);
    });

    it('withWaiter adds one waiter and leaves the counter', () => {
      const word = withWaiter(pack(3, 4));
      expect(counterOf(word)).to.equal(3);
      expect(waitersOf(word)).to.equal(5);
    });

    it('withoutWaiter removes one waiter and leaves the counter', () => {
      const word = withoutWaiter(pack(3, 4));
      expect(counterOf(word)).to.equal(3);
      expect(waitersOf(word)).to.equal(3);
    });

    it('hasMostWaiters is true only when one more waiter would carry into the counter', () => {
      expect(hasMostWaiters(pack(1, MAX_WAITERS))).to.equal(true);
      expect(hasMostWaiters(pack(MAX_COUNTER, MAX_WAITERS))).to.equal(true);
      expect(hasMostWaiters(pack(1, MAX_WAITERS - 1))).to.equal(false);
      expect(hasMostWaiters(pack(1, 0))).to.equal(false);
      expect(counterOf(withWaiter(pack(1, MAX_WAITERS)))).to.equal(2);
    });
  });

  describe('isRegistered: counter > 0 and waiters > 0, not word != 0', () => {
    it('is true for (1, 1) and at the limits', () => {
      expect(isRegistered(pack(1, 1))).to.equal(true);
      expect(isRegistered(pack(MAX_COUNTER, 1))).to.equal(true);
      expect(isRegistered(pack(1, MAX_WAITERS))).to.equal(true);
      expect(isRegistered(MAX_WORD)).to.equal(true);
    });

    it('is false for the empty word', () => {
      expect(isRegistered(EMPTY_WORD)).to.equal(false);
    });

    it('is false for (c > 0, 0): a new round with no waiters must not be decremented', () => {
      expect(isRegistered(pack(1, 0))).to.equal(false);
      expect(isRegistered(pack(MAX_COUNTER, 0))).to.equal(false);
    });

    it('is false for (0, w > 0), which is not a registered waiter either', () => {
      expect(isRegistered(pack(0, 1))).to.equal(false);
      expect(isRegistered(pack(0, MAX_WAITERS))).to.equal(false);
    });
  });
});
