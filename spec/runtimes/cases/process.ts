import assert from 'node:assert/strict';
import type { Case } from '../run.js';
import { RUNTIME, runFixture } from '../runtime.js';

export default [
  {
    name: "a pending shared wait keeps the process alive until an unref'd worker releases it, then it exits",
    async run() {
      const outcome = await runFixture('fixtures/top-level-wait.js');
      assert.deepEqual(
        { code: outcome.code, stdout: outcome.stdout },
        { code: 0, stdout: 'released: counter 0, waiters 0, pending 0\n' },
      );
    },
  },
  {
    name: "require('awaitgroup') from CommonJS",
    async run() {
      const outcome = await runFixture('runtimes/fixtures/require.cjs');
      assert.deepEqual(
        { code: outcome.code, stdout: outcome.stdout },
        { code: 0, stdout: 'required: WaitGroup counter 0, ErrGroup function\n' },
      );
    },
  },
  {
    name: `an unsettled top-level local wait ends as ${RUNTIME.description} ends it`,
    async run() {
      // Each runtime's own behaviour (SPEC §6), asserted here in one place.
      if (RUNTIME.name === 'bun') {
        // Bun keeps running: its unref'd timer fires, and the child is killed.
        const outcome = await runFixture('runtimes/fixtures/unsettled-wait.js', {
          untilStdout: 'still alive',
        });
        assert.equal(outcome.stillRunning, true);
        assert.equal(outcome.stdout, 'waiting\nstill alive\n');
        return;
      }
      const outcome = await runFixture('runtimes/fixtures/unsettled-wait.js');
      if (RUNTIME.name === 'deno') {
        assert.equal(outcome.code, 1);
        assert.match(outcome.stderr, /error: Top-level await promise never resolved/);
      } else {
        // Node: exit 13 once nothing else is left; the unref'd timer never fires.
        assert.deepEqual(
          { code: outcome.code, stdout: outcome.stdout },
          { code: 13, stdout: 'waiting\n' },
        );
        if (RUNTIME.nodeMajor >= 22)
          assert.match(outcome.stderr, /^Warning: Detected unsettled top-level await/);
        else assert.equal(outcome.stderr, '');
      }
    },
  },
] satisfies Case[];
