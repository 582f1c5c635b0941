/**
 * The cross-runtime suite's runner (SPEC §6): the same compiled cases on
 * Node, Deno and Bun. mocha does not start under Deno, so this is a runner of
 * our own: it imports every module of cases/, runs each case in turn with a
 * hang guard, and closes with mocha's `N passing` / `N failing` lines, which
 * .ci/run adds up. It exits 1 if any case failed.
 *
 *   node dist/spec/runtimes/run.js
 *   deno run -A dist/spec/runtimes/run.js
 *   bun dist/spec/runtimes/run.js
 *
 * @module
 */

import { readdirSync } from 'node:fs';
import { RUNTIME } from './runtime.js';

/** One check: a name that reads like the spec, and its body. */
export interface Case {
  readonly name: string;
  readonly run: () => void | Promise<void>;
}

/** A case that has not settled by then fails: the hang guard. */
const HANG_GUARD_MS = 20_000;

const casesDir = new URL('./cases/', import.meta.url);
const files = readdirSync(casesDir)
  .filter((name) => name.endsWith('.js'))
  .sort();

console.log(`cross-runtime suite on ${RUNTIME.description}`);
let passing = 0;
let failing = 0;
for (const file of files) {
  const { default: cases } = (await import(new URL(file, casesDir).href)) as { default: Case[] };
  console.log(`  ${file.replace(/\.js$/, '')}`);
  for (const { name, run } of cases) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const guard = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`did not settle within ${HANG_GUARD_MS} ms`)),
        HANG_GUARD_MS,
      );
    });
    try {
      await Promise.race([Promise.resolve().then(run), guard]);
      passing++;
      console.log(`    ✔ ${name}`);
    } catch (error) {
      failing++;
      console.log(
        `    ✖ ${name}\n      ${String((error as Error)?.stack ?? error).replaceAll('\n', '\n      ')}`,
      );
    } finally {
      clearTimeout(timer);
    }
  }
}
console.log(`\n  ${passing} passing`);
if (failing > 0) console.log(`  ${failing} failing`);
process.exit(failing > 0 ? 1 : 0);
