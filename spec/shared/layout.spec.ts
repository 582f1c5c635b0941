import { runInNewContext } from 'node:vm';
import { expect } from 'chai';
import { WaitGroup } from '../../lib/index.js';
import { expectPending } from '../helpers/async.js';
import { expectState, expectWaitGroupError } from '../helpers/waitgroup.js';
import { reservedWord, runChild, stateWord, stopAll, tokenWord } from './util.js';

describe('shared: S1 memory layout', function () {
  this.timeout(5_000);

  it('BYTE_LENGTH is 16', () => {
    expect(WaitGroup.BYTE_LENGTH).to.equal(16);
  });

  it('a fresh shared group has counter 0 and waiters 0', () => {
    const wg = new WaitGroup({ shared: true });
    expect(wg.shared).to.equal(true);
    expectState(wg, 0, 0);
  });

  it('its handle is { buffer: a 16-byte SharedArrayBuffer, byteOffset: 0 }', () => {
    const { handle } = new WaitGroup({ shared: true });
    expect(handle.buffer).to.be.an.instanceOf(SharedArrayBuffer);
    expect(handle.buffer.byteLength).to.equal(16);
    expect(handle.byteOffset).to.equal(0);
    expect(Object.keys(handle).sort()).to.deep.equal(['buffer', 'byteOffset']);
  });

  it('holds the state word in bytes 0–7, the token word in 8–11, and keeps 12–15 zero', async () => {
    const wg = new WaitGroup({ shared: true });
    const { handle } = wg;
    wg.add(3);
    const waiting = wg.wait();
    expect(stateWord(handle)).to.equal((3n << 32n) | 1n);
    wg.add(-3);
    // Released: the word is reset, and the one token is issued, then taken by the waiter.
    expect(stateWord(handle)).to.equal(0n);
    expect(tokenWord(handle)).to.equal(1);
    await waiting;
    expect(tokenWord(handle)).to.equal(0);
    expect(reservedWord(handle)).to.equal(0);
  });

  it('sixteen zero bytes of a buffer of your own are an empty group', async () => {
    const wg = WaitGroup.from({ buffer: new SharedArrayBuffer(16), byteOffset: 0 });
    expectState(wg, 0, 0);
    wg.add(1);
    const waiting = wg.wait();
    await expectPending(waiting);
    wg.done();
    await waiting;
    expectState(wg, 0, 0);
  });
});

describe('shared: S14 WaitGroup.from', function () {
  this.timeout(10_000);

  afterEach(stopAll);

  const sab = (bytes: number) => new SharedArrayBuffer(bytes);
  const table: ReadonlyArray<{
    what: string;
    handle: () => unknown;
    error: typeof TypeError | typeof RangeError;
    says: RegExp;
  }> = [
    {
      what: 'not an object',
      handle: () => 42,
      error: TypeError,
      says: /handle must be an object \{ buffer, byteOffset \}, got 42 \(number\); pass the wg\.handle/,
    },
    {
      what: 'null',
      handle: () => null,
      error: TypeError,
      says: /handle must be an object .*got null \(null\); pass/,
    },
    {
      what: 'a buffer that is an ArrayBuffer',
      handle: () => ({ buffer: new ArrayBuffer(16), byteOffset: 0 }),
      error: TypeError,
      says: /handle\.buffer must be a SharedArrayBuffer, got \[object ArrayBuffer\].*copied, not shared/,
    },
    {
      what: 'no buffer',
      handle: () => ({ byteOffset: 0 }),
      error: TypeError,
      says: /handle\.buffer must be a SharedArrayBuffer, got undefined \(undefined\); pass the wg\.handle of a shared group, or \{ buffer, byteOffset \}/,
    },
    {
      what: 'a WaitGroup instead of its handle',
      handle: () => new WaitGroup({ shared: true }),
      error: TypeError,
      says: /handle\.buffer must be a SharedArrayBuffer, got a WaitGroup; pass its wg\.handle/,
    },
    {
      what: 'the SharedArrayBuffer itself',
      handle: () => sab(16),
      error: TypeError,
      says: /got the SharedArrayBuffer itself; pass \{ buffer: thatBuffer, byteOffset: 0 \}/,
    },
    {
      what: 'byteOffset -8',
      handle: () => ({ buffer: sab(32), byteOffset: -8 }),
      error: RangeError,
      says: /handle\.byteOffset must be an integer >= 0, got -8 \(number\)/,
    },
    {
      what: 'byteOffset 1.5',
      handle: () => ({ buffer: sab(32), byteOffset: 1.5 }),
      error: RangeError,
      says: /handle\.byteOffset must be an integer >= 0, got 1\.5 \(number\)/,
    },
    {
      what: "byteOffset '0'",
      handle: () => ({ buffer: sab(32), byteOffset: '0' }),
      error: RangeError,
      says: /handle\.byteOffset must be an integer >= 0, got "0" \(string\)/,
    },
    {
      what: 'byteOffset 4 (misaligned)',
      handle: () => ({ buffer: sab(32), byteOffset: 4 }),
      error: RangeError,
      says: /byteOffset must be a multiple of 8 .*got 4; use 8, for example/,
    },
    {
      what: 'a buffer shorter than 16 bytes',
      handle: () => ({ buffer: sab(8), byteOffset: 0 }),
      error: RangeError,
      says: /needs 16 bytes at byteOffset 0, but the buffer has 8; use a buffer of at least 16 bytes/,
    },
    {
      what: 'byteOffset + 16 > byteLength',
      handle: () => ({ buffer: sab(32), byteOffset: 24 }),
      error: RangeError,
      says: /needs 16 bytes at byteOffset 24, but the buffer has 32; use a byteOffset <= 16 or a buffer of at least 40 bytes/,
    },
  ];

  for (const { what, handle, error, says } of table) {
    it(`refuses ${what} with a ${error.name} that says what to do`, () => {
      const bad = handle();
      let thrown: unknown;
      try {
        WaitGroup.from(bad as never);
      } catch (e) {
        thrown = e;
      }
      expect(thrown).to.be.an.instanceOf(error);
      // A TypeError is not a RangeError, and vice versa.
      expect((thrown as Error).constructor).to.equal(error);
      expect((thrown as Error).message).to.match(says);
    });
  }

  it('takes a handle without byteOffset as offset 0', () => {
    const buffer = sab(16);
    const wg = WaitGroup.from({ buffer } as never);
    wg.add(2);
    expect(WaitGroup.from({ buffer, byteOffset: 0 }).counter).to.equal(2);
    expect(wg.handle).to.deep.equal({ buffer, byteOffset: 0 });
  });

  it('accepts a SharedArrayBuffer from another realm (node:vm)', async () => {
    const buffer = runInNewContext('new SharedArrayBuffer(32)') as SharedArrayBuffer;
    expect(buffer).not.to.be.an.instanceOf(SharedArrayBuffer);
    const wg = WaitGroup.from({ buffer, byteOffset: 16 });
    wg.add(1);
    expectState(wg, 1, 0);
    const waiting = wg.wait();
    wg.done();
    await waiting;
    expectState(wg, 0, 0);
  });

  it('keeps a frozen copy of the handle it was given', () => {
    const given = { buffer: new SharedArrayBuffer(32), byteOffset: 16 };
    const wg = WaitGroup.from(given);
    given.byteOffset = 0;
    expect(wg.handle).not.to.equal(given);
    expect(wg.handle).to.deep.equal({ buffer: given.buffer, byteOffset: 16 });
    expect(Object.isFrozen(wg.handle)).to.equal(true);
  });

  it('two instances attached to the same bytes are one group', async () => {
    const a = new WaitGroup({ shared: true });
    const b = WaitGroup.from(a.handle);
    expect(b.shared).to.equal(true);
    a.add(2);
    expectState(b, 2, 0);
    const waiting = b.wait();
    expectState(a, 2, 1);
    a.done();
    await expectPending(waiting);
    b.done();
    await waiting;
    expectState(a, 0, 0);
    expect(tokenWord(a.handle)).to.equal(0);
    // S3 holds across instances: a's refusal sees b's counter.
    expectWaitGroupError(() => a.done(), 'ERR_WAITGROUP_NEGATIVE_COUNTER');
  });

  it('groups at different 8-aligned offsets of one buffer are independent', async () => {
    const buffer = new SharedArrayBuffer(72);
    const offsets = [8, 24, 48];
    const groups = offsets.map((byteOffset) => WaitGroup.from({ buffer, byteOffset }));
    const [g8, g24, g48] = groups as [WaitGroup, WaitGroup, WaitGroup];
    g8.add(1);
    g24.add(2);
    g48.add(3);
    const waits = groups.map((wg) => wg.wait());
    expect(groups.map((wg) => [wg.counter, wg.waiters])).to.deep.equal([
      [1, 1],
      [2, 1],
      [3, 1],
    ]);
    g24.add(-2);
    await waits[1];
    await expectPending(waits[0] as Promise<void>, 'the group at 8 is still waiting');
    await expectPending(waits[2] as Promise<void>, 'the group at 48 is still waiting');
    expect(groups.map((wg) => [wg.counter, wg.waiters])).to.deep.equal([
      [1, 1],
      [0, 0],
      [3, 1],
    ]);
    g8.done();
    g48.add(-3);
    await Promise.all(waits);
    for (const byteOffset of offsets) {
      expect(stateWord({ buffer, byteOffset })).to.equal(0n);
      expect(tokenWord({ buffer, byteOffset })).to.equal(0);
    }
    // Nothing outside the three groups was touched.
    const bytes = new Uint8Array(buffer);
    expect([...bytes.subarray(0, 8), ...bytes.subarray(40, 48)].every((b) => b === 0)).to.equal(
      true,
    );
  });

  it('throws ERR_WAITGROUP_NO_SHARED_MEMORY naming COOP and COEP where SharedArrayBuffer is missing', async () => {
    const { code, stdout, stderr } = await runChild('no-shared-memory.js');
    expect({ code, stderr }).to.deep.equal({ code: 0, stderr: '' });
    const lines = stdout.trim().split('\n');
    expect(lines).to.have.length(2);
    const thrown = JSON.parse(lines[0] as string) as Record<string, unknown>;
    expect(thrown).to.include({
      sharedArrayBuffer: 'undefined',
      name: 'WaitGroupError',
      code: 'ERR_WAITGROUP_NO_SHARED_MEMORY',
      isWaitGroupError: true,
    });
    const message = thrown.message as string;
    expect(message.startsWith('awaitgroup: SharedArrayBuffer is not available')).to.equal(true);
    expect(message).to.include('Cross-Origin-Opener-Policy: same-origin');
    expect(message).to.include('Cross-Origin-Embedder-Policy: require-corp');
    expect(lines[1]).to.equal('a local group still works: counter 0, waiters 0');
  });
});
