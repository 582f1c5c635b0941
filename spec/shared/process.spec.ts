import { expect } from 'chai';
import { runChild, stopAll } from './util.js';

describe('shared: S15 and S16 in a child process', function () {
  // Each child is killed, and its test fails, if it has not exited within 10 s.
  this.timeout(15_000);

  afterEach(stopAll);

  it("a top-level await wg.wait() released by an unref'd worker exits 0 after printing", async () => {
    const result = await runChild('top-level-wait.js');
    expect(result).to.deep.equal({
      code: 0,
      signal: null,
      stdout: 'released: counter 0, waiters 0, pending 0\n',
      stderr: '',
    });
  });

  it('exits by itself once its shared waits have settled or been aborted', async () => {
    const result = await runChild('settled-exit.js');
    expect(result).to.deep.equal({
      code: 0,
      signal: null,
      stdout:
        'pending 3\n' +
        'aborted wait: aborted\n' +
        'released: counter 0; abandoned: counter 1, waiters 0; pending 0\n',
      stderr: '',
    });
  });

  it('with Atomics.waitAsync deleted before the import, shared waits poll and work, with workers', async () => {
    const result = await runChild('fallback.js');
    expect(result).to.deep.equal({
      code: 0,
      signal: null,
      stdout:
        'waitAsync: undefined\n' +
        'workers released and done: counter 0, waiters 0\n' +
        'aborted: waiters 0, pending 0\n',
      stderr: '',
    });
  });

  it('a local wait that nothing can release lets the process end (unsettled top-level await: 13)', async () => {
    const result = await runChild('local-wait.js');
    expect(result).to.include({ code: 13, signal: null, stdout: 'waiting\n' });
    // Each Node line's own words for the unsettled top-level await (SPEC §6):
    // Node 20 exits 13 silently, Node ≥ 22 warns first and names the line.
    const major = Number(process.versions.node.split('.')[0]);
    if (major < 22) {
      expect(result.stderr).to.equal('');
    } else {
      expect(result.stderr).to.match(
        /^Warning: Detected unsettled top-level await at file:\/\/\S+\/local-wait\.js:\d+\n/,
      );
    }
  });
});
