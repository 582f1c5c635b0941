/**
 * The test's side of the member fixture: fork a process, send it requests
 * over IPC and await their answers. Handshakes, never sleeps.
 *
 * @module
 */

import { type ChildProcess, fork } from 'node:child_process';
import { collect } from '../../helpers/child.js';
import type { Target } from './clients.js';

const FIXTURE = new URL('../fixtures/member.js', import.meta.url);

/** An answer of a member: a value, or an error's code and message. */
export type Answer =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly code: string | undefined; readonly message: string };

/** A forked member process. */
export class Member {
  readonly child: ChildProcess;
  readonly exited: Promise<unknown>;
  readonly #answers = new Map<number, (answer: Answer) => void>();
  #next = 0;

  private constructor(child: ChildProcess) {
    this.child = child;
    this.exited = collect(child, 120_000);
    child.on('message', (message: { id?: number } & Answer) => {
      if (message.id === undefined) return;
      this.#answers.get(message.id)?.(message);
      this.#answers.delete(message.id);
    });
  }

  /** start forks a member connected to `target` and resolves once it is ready. */
  static async start(target: Target): Promise<Member> {
    const child = fork(FIXTURE, [JSON.stringify(target)], {
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      execArgv: ['--enable-source-maps'],
    });
    const member = new Member(child);
    await new Promise<void>((resolve, reject) => {
      child.once('message', () => resolve());
      child.once('exit', (code) =>
        reject(new Error(`member exited with ${code} before it was ready`)),
      );
    });
    return member;
  }

  /** request sends one request and resolves with its answer. */
  request(op: string, fields: object = {}): Promise<Answer> {
    const id = ++this.#next;
    return new Promise((resolve) => {
      this.#answers.set(id, resolve);
      this.child.send({ id, op, ...fields });
    });
  }

  /** ok sends a request and resolves with its value, or rejects with its error. */
  async ok(op: string, fields: object = {}): Promise<unknown> {
    const answer = await this.request(op, fields);
    if (!answer.ok) throw new Error(`${op}: ${answer.code} ${answer.message}`);
    return answer.value;
  }

  /** kill sends SIGKILL and resolves once the process is gone. */
  async kill(): Promise<void> {
    this.child.kill('SIGKILL');
    await this.exited;
  }
}

/** until polls `condition` (a read of Redis, not a sleep on the outcome) until it holds. */
export async function until(
  condition: () => Promise<boolean>,
  what: string,
  ms = 20_000,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
