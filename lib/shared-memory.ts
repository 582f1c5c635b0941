/**
 * The layout of a shared group in a `SharedArrayBuffer` and the
 * validation of a {@link WaitGroupHandle}.
 *
 *   bytes 0–7    state word       (BigInt64Array element, see state.ts)
 *   bytes 8–11   semaphore tokens (Int32Array element)
 *   bytes 12–15  reserved, zero
 *
 * Sixteen zero bytes are an empty group, so groups can be carved out of any
 * buffer at 8-aligned offsets without initialising them.
 *
 * @module
 */
// SPEC §2, S14.

import { describe, noSharedMemory } from './errors.js';

/** How many bytes of a `SharedArrayBuffer` one shared group occupies. */
export const BYTE_LENGTH = 16;

/** The alignment a group's `byteOffset` needs: that of its 64-bit word. */
export const BYTE_ALIGNMENT = 8;

/** Where the semaphore word lies, in bytes from the start of the group. */
export const SEMAPHORE_OFFSET = 8;

/**
 * WaitGroupHandle names the memory of a shared group. It is
 * structured-cloneable: `postMessage` it to a worker and attach there with
 * `WaitGroup.from(handle)`.
 */
export interface WaitGroupHandle {
  /** The shared memory that holds the group. */
  readonly buffer: SharedArrayBuffer;
  /** Where the group's 16 bytes start in `buffer`; a multiple of 8. */
  readonly byteOffset: number;
}

/** The typed views a shared group works through. */
export interface SharedViews {
  /** Element 0 is the state word. */
  readonly words: BigInt64Array;
  /** Element 0 is the semaphore's token count. */
  readonly tokens: Int32Array;
}

/** sharedMemoryAvailable reports whether this agent has `SharedArrayBuffer`. */
export function sharedMemoryAvailable(): boolean {
  return typeof SharedArrayBuffer === 'function';
}

/**
 * allocateHandle returns a handle to a fresh, zeroed 16-byte
 * `SharedArrayBuffer`, or throws ERR_WAITGROUP_NO_SHARED_MEMORY where
 * `SharedArrayBuffer` does not exist.
 */
// S1, S14.
export function allocateHandle(): WaitGroupHandle {
  if (!sharedMemoryAvailable()) throw noSharedMemory();
  return Object.freeze({ buffer: new SharedArrayBuffer(BYTE_LENGTH), byteOffset: 0 });
}

/** isSharedArrayBuffer tells a `SharedArrayBuffer` by its tag, so buffers of other realms pass. */
function isSharedArrayBuffer(value: unknown): value is SharedArrayBuffer {
  return Object.prototype.toString.call(value) === '[object SharedArrayBuffer]';
}

/**
 * validateHandle checks `handle` as `WaitGroup.from` requires and returns a frozen copy
 * of it: a `TypeError` if it is not an object or its `buffer` is not a
 * `SharedArrayBuffer`; a `RangeError` if `byteOffset` is not an integer ≥ 0,
 * not a multiple of 8, or leaves fewer than 16 bytes. A missing `byteOffset`
 * is 0.
 */
// S14.
export function validateHandle(handle: unknown): WaitGroupHandle {
  if (typeof handle !== 'object' || handle === null) {
    throw new TypeError(
      `WaitGroup.from: handle must be an object { buffer, byteOffset }, got ${describe(handle)}; ` +
        'pass the wg.handle of a shared group, or { buffer: aSharedArrayBuffer, byteOffset: 0 }',
    );
  }
  if (isSharedArrayBuffer(handle)) {
    throw new TypeError(
      'WaitGroup.from: handle must be { buffer, byteOffset }, got the SharedArrayBuffer itself; ' +
        'pass { buffer: thatBuffer, byteOffset: 0 } (or the offset of the group in it)',
    );
  }
  // A handle without byteOffset names the group at the start of its buffer.
  const { buffer, byteOffset = 0 } = handle as Record<string, unknown>;
  if (!isSharedArrayBuffer(buffer)) {
    const given =
      Object.prototype.toString.call(handle) === '[object WaitGroup]'
        ? 'got a WaitGroup; pass its wg.handle'
        : `got ${describe(buffer)}; pass the wg.handle of a shared group, or { buffer, byteOffset } ` +
          'naming 16 bytes of your own SharedArrayBuffer';
    throw new TypeError(
      `WaitGroup.from: handle.buffer must be a SharedArrayBuffer, ${given} ` +
        '(a shared group lives in shared memory; an ArrayBuffer is copied, not shared, by postMessage)',
    );
  }
  if (typeof byteOffset !== 'number' || !Number.isSafeInteger(byteOffset) || byteOffset < 0) {
    throw new RangeError(
      `WaitGroup.from: handle.byteOffset must be an integer >= 0, got ${describe(byteOffset)}`,
    );
  }
  if (byteOffset % BYTE_ALIGNMENT !== 0) {
    throw new RangeError(
      `WaitGroup.from: handle.byteOffset must be a multiple of ${BYTE_ALIGNMENT} (the group ` +
        `starts with a 64-bit word), got ${byteOffset}; use ${byteOffset - (byteOffset % BYTE_ALIGNMENT) + BYTE_ALIGNMENT}, for example`,
    );
  }
  if (byteOffset + BYTE_LENGTH > buffer.byteLength) {
    const fix =
      buffer.byteLength >= BYTE_LENGTH
        ? `use a byteOffset <= ${buffer.byteLength - BYTE_LENGTH} or a buffer of at least ${byteOffset + BYTE_LENGTH} bytes`
        : `use a buffer of at least ${byteOffset + BYTE_LENGTH} bytes`;
    throw new RangeError(
      `WaitGroup.from: a group needs ${BYTE_LENGTH} bytes at byteOffset ${byteOffset}, but the ` +
        `buffer has ${buffer.byteLength}; ${fix}`,
    );
  }
  return Object.freeze({ buffer, byteOffset });
}

/** viewsOf returns the typed views of the group that `handle` names. */
export function viewsOf(handle: WaitGroupHandle): SharedViews {
  const { buffer, byteOffset } = handle;
  return {
    words: new BigInt64Array(buffer, byteOffset, 1),
    tokens: new Int32Array(buffer, byteOffset + SEMAPHORE_OFFSET, 1),
  };
}
