/**
 * stream-consumers: a stream of a million records, each handled by an async
 * function, 8 at a time, the results in input order as they come:
 * `for await (const r of ErrGroup.mapIterable(readable, fn, { limit: 8 }))`.
 *
 *   node dist/examples/stream-consumers.js [--records N]
 *
 * The records are pulled only as fast as the loop takes results: at most 16
 * (2 × limit) are pulled and not yet yielded, on top of the Readable's own
 * buffer, so memory stays flat whatever the stream's length. Leaving the loop
 * early (`break`) would stop the tasks and close the stream. Every handler
 * runs in the async context of the mapIterable call (here, a job id).
 *
 * @module
 */

import { AsyncLocalStorage } from 'node:async_hooks';
import { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import { ErrGroup } from '../lib/index.js';

const { values } = parseArgs({ options: { records: { type: 'string', default: '1000000' } } });
const RECORDS = Number(values.records);
if (!Number.isSafeInteger(RECORDS) || RECORDS < 1) {
  console.error(`stream-consumers: --records must be a whole number >= 1, got "${values.records}"`);
  process.exit(2);
}

interface Row {
  readonly id: number;
  readonly amount: number;
}

let pulled = 0;
/** rows makes one record each time the stream asks for one. */
function* rows(n: number): Generator<Row> {
  for (let id = 0; id < n; id++) {
    pulled++;
    yield { id, amount: id % 100 };
  }
}

const job = new AsyncLocalStorage<string>();
const readable = Readable.from(rows(RECORDS), { objectMode: true, highWaterMark: 16 });

/** handle is the work one record takes: async, as a database write would be. */
async function handle(row: Row, _index: number, signal: AbortSignal): Promise<number> {
  signal.throwIfAborted();
  if (job.getStore() !== 'nightly') throw new Error(`record ${row.id} lost its job context`);
  await null;
  return row.amount * 2;
}

let count = 0;
let sum = 0;
let inOrder = true;
let mostAhead = 0;
const results = job.run('nightly', () => ErrGroup.mapIterable(readable, handle, { limit: 8 }));
for await (const r of results) {
  if (r !== (count % 100) * 2) inOrder = false;
  sum += r;
  count++;
  mostAhead = Math.max(mostAhead, pulled - count);
}

console.log(`${count} records, sum ${sum}, in input order: ${inOrder}`);
console.log(`  most records pulled ahead of the loop: ${mostAhead}`);
const expected =
  2 * (Math.floor(RECORDS / 100) * 4950 + ((RECORDS % 100) * ((RECORDS % 100) - 1)) / 2);
if (count !== RECORDS || sum !== expected || !inOrder) {
  console.error(`stream-consumers: expected ${RECORDS} records summing to ${expected}`);
  process.exitCode = 1;
}
