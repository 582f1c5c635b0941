/**
 * Which runtime runs the cross-runtime suite, and how it starts a script of
 * its own kind: the one place where the runtimes' differences are written down.
 *
 * @module
 */

import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

interface DenoGlobal {
  readonly version: { readonly deno: string };
  execPath(): string;
}
interface BunGlobal {
  readonly version: string;
}

const deno = (globalThis as { Deno?: DenoGlobal }).Deno;
const bun = (globalThis as { Bun?: BunGlobal }).Bun;

/** The runtime this process runs on. */
export const RUNTIME: {
  readonly name: 'node' | 'deno' | 'bun';
  /** Node's major version; 0 elsewhere. */
  readonly nodeMajor: number;
  readonly description: string;
} =
  deno !== undefined
    ? { name: 'deno', nodeMajor: 0, description: `Deno ${deno.version.deno}` }
    : bun !== undefined
      ? { name: 'bun', nodeMajor: 0, description: `Bun ${bun.version}` }
      : {
          name: 'node',
          nodeMajor: Number(process.versions.node.split('.')[0]),
          description: `Node.js ${process.version}`,
        };

/** command returns the argv that runs `script` on this same runtime binary. */
function command(script: string): [string, string[]] {
  if (deno !== undefined) return [deno.execPath(), ['run', '-A', script]];
  return [process.execPath, [script]];
}

/** What a child run printed, and how it ended. */
export interface ChildOutcome {
  readonly code: number | null;
  readonly signal: string | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * runFixture runs `path` (relative to dist/spec/, say
 * `runtimes/fixtures/require.cjs`) on this runtime. If `untilStdout` is
 * given, the child is killed once its stdout contains it (the handshake of
 * a process that is expected to keep running), and `stillRunning` says
 * whether it was still running then; the outcome has signal SIGKILL. A hang guard kills it after
 * `limitMs` in any case.
 */
export function runFixture(
  path: string,
  options: { readonly untilStdout?: string; readonly limitMs?: number } = {},
): Promise<ChildOutcome & { readonly stillRunning: boolean }> {
  const script = fileURLToPath(new URL(`../${path}`, import.meta.url));
  const [file, args] = command(script);
  // NO_COLOR: Deno colours its errors even into a pipe; the cases compare text.
  const child = spawn(file, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1' },
  });
  let stdout = '';
  let stderr = '';
  let stillRunning = false;
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    if (options.untilStdout !== undefined && stdout.includes(options.untilStdout)) {
      stillRunning = child.exitCode === null && child.signalCode === null;
      child.kill('SIGKILL');
    }
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const guard = setTimeout(() => child.kill('SIGKILL'), options.limitMs ?? 15_000);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(guard);
      resolve({ code, signal, stdout, stderr, stillRunning });
    });
  });
}
