/**
 * Runs a fixture of spec/fixtures/ in a child process of this same runtime
 * (`process.execPath`), with node flags and environment of the test's
 * choosing, and collects its exit and output. A hang guard kills it.
 *
 * @module
 */

import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { collect, type Outcome, stopChildren } from '../helpers/child.js';

export type { Outcome };

export interface RunOptions {
  readonly flags?: readonly string[];
  readonly args?: readonly string[];
  /** Extra environment; AWAITGROUP_DEBUG is removed unless given here. */
  readonly env?: Readonly<Record<string, string>>;
}

/** The repository root: the working directory of every child, so sites print relative to it. */
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** The Node major version running the suite (and its children). */
export const NODE_MAJOR = Number(process.versions.node.split('.')[0]);

const HANG_GUARD_MS = 15_000;

/** runFixture runs dist/spec/fixtures/`name`.js and resolves when it exits. */
export function runFixture(name: string, options: RunOptions = {}): Promise<Outcome> {
  const file = fileURLToPath(new URL(`../fixtures/${name}.js`, import.meta.url));
  const env: Record<string, string | undefined> = { ...process.env, ...options.env };
  if (options.env?.AWAITGROUP_DEBUG === undefined) delete env.AWAITGROUP_DEBUG;
  delete env.NODE_OPTIONS;
  const child = spawn(process.execPath, [...(options.flags ?? []), file, ...(options.args ?? [])], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return collect(child, HANG_GUARD_MS);
}

/** stopFixtures kills every child still running (for afterEach). */
export const stopFixtures = stopChildren;

/** warnings returns the AWAITGROUP_PENDING_WAIT warnings of a child's stderr, without Node's prefix. */
export function warnings(stderr: string): string[] {
  const found: string[] = [];
  const prefix = /^\(node:\d+\) \[AWAITGROUP_PENDING_WAIT\] Warning: /;
  let current: string[] | undefined;
  for (const line of stderr.split('\n')) {
    if (prefix.test(line)) {
      current = [line.replace(prefix, '')];
      found.push('');
    } else if (current !== undefined && line.startsWith('WaitGroup ')) {
      current.push(line);
    } else current = undefined;
    if (current !== undefined) found[found.length - 1] = current.join('\n');
  }
  return found;
}

/** relative names a site the way the reports do: relative to the child's working directory. */
export function relative(site: string): string {
  for (const prefix of [`file://${ROOT}`, ROOT]) {
    if (site.startsWith(prefix)) return site.slice(prefix.length);
  }
  return site;
}
