/**
 * Child processes of the specs: collect a child's exit and output, with a
 * hang guard, and kill whatever is still running when a test ends.
 *
 * @module
 */

import type { ChildProcess } from 'node:child_process';

/** How a child ended, and what it printed. */
export interface Outcome {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

const running = new Set<ChildProcess>();

/** collect resolves with `child`'s outcome once it exits; the hang guard kills it after `hangGuardMs`. */
export function collect(child: ChildProcess, hangGuardMs: number): Promise<Outcome> {
  running.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const guard = setTimeout(() => child.kill('SIGKILL'), hangGuardMs);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(guard);
      running.delete(child);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** stopChildren kills every child still running (for afterEach). */
export function stopChildren(): void {
  for (const child of running) child.kill('SIGKILL');
  running.clear();
}
