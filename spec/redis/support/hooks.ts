/**
 * Mocha root hooks of the Redis suite (required by .mocharc.redis.json):
 * the shared servers stop after the last test, and no child outlives its test.
 *
 * @module
 */

import { stopChildren } from '../../helpers/child.js';
import { stopShared } from './env.js';
import { stopAll } from './servers.js';

export const mochaHooks = {
  afterEach(): void {
    stopChildren();
  },
  async afterAll(): Promise<void> {
    await stopShared();
    // Whatever a failed test left running, by pid.
    stopAll();
  },
};
