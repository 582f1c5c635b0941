/**
 * Script: one server-side script run with EVALSHA, falling back to EVAL
 * when the server does not have it (NOSCRIPT: a restart, SCRIPT FLUSH, a
 * new node of a Cluster). EVAL loads it again, so the next EVALSHA hits.
 *
 * @module
 */

import { createHash } from 'node:crypto';
import type { Connection } from './client.js';

/** A Lua script and its SHA-1, as EVALSHA names it. */
export class Script {
  /** The Lua source. */
  readonly source: string;
  /** The SHA-1 of the source, in hex. */
  readonly sha: string;

  /** @param source - the Lua source */
  constructor(source: string) {
    this.source = source;
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  /**
   * run runs the script on the node that holds `keys` (all of one hash tag,
   * so a Cluster routes it) and returns its reply.
   */
  async run(
    connection: Connection,
    keys: readonly string[],
    args: readonly string[],
  ): Promise<unknown> {
    const tail = [String(keys.length), ...keys, ...args];
    try {
      return await connection.call(keys[0], ['EVALSHA', this.sha, ...tail]);
    } catch (error) {
      if (!isNoScript(error)) throw error;
      return connection.call(keys[0], ['EVAL', this.source, ...tail]);
    }
  }
}

function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOSCRIPT');
}
