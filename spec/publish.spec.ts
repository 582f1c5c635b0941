/**
 * What a user gets from the registry: the tracked files of this checkout are
 * copied to a temporary folder (as a fresh clone would have them), packed
 * there with `npm pack` (whose `prepack` builds), and the tarball is installed
 * into a temporary consumer, offline, which uses it from ESM, from CommonJS
 * and from strict TypeScript without @types/node.
 */

import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect } from 'chai';

const root = fileURLToPath(new URL('../../', import.meta.url));
const run = promisify(execFile);

/** A run that fails the test with the command's own output. */
async function sh(file: string, args: string[], cwd: string): Promise<string> {
  try {
    const { stdout } = await run(file, args, { cwd, maxBuffer: 16 << 20 });
    return stdout;
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    throw new Error(`${file} ${args.join(' ')} failed in ${cwd}:\n${stdout}${stderr}`);
  }
}

const CONSUMER_TS = `import { WaitGroup, WaitGroupError, type WaitGroupHandle } from 'awaitgroup';

const wg = new WaitGroup();
const done: number[] = [];
for (const n of [1, 2, 3]) wg.go(async () => void done.push(n));
await wg.wait();
const handle: WaitGroupHandle = new WaitGroup({ shared: true }).handle;
const disposable: AsyncDisposable = wg;
await disposable[Symbol.asyncDispose]();
const failure: WaitGroupError | undefined = undefined;
export { done, failure, handle };
`;

const TSCONFIG = {
  compilerOptions: {
    target: 'ES2022',
    lib: ['ES2022', 'DOM'],
    module: 'nodenext',
    moduleResolution: 'nodenext',
    types: [],
    strict: true,
    exactOptionalPropertyTypes: true,
    noUncheckedIndexedAccess: true,
    skipLibCheck: false,
    noEmit: true,
  },
  files: ['consumer.ts'],
};

/** What each consumer prints: the group's counter after a fan-out of three. */
const USE = `for (const n of [1, 2, 3]) wg.go(async () => n);
await wg.wait();
console.log(JSON.stringify({ counter: wg.counter, shared: new WaitGroup({ shared: true }).handle.buffer instanceof SharedArrayBuffer }));`;

describe('publish: npm pack of a fresh clone, installed into a consumer', function () {
  this.timeout(180_000);
  let temp = '';
  let consumer = '';

  before(async () => {
    temp = await mkdtemp(join(tmpdir(), 'awaitgroup-publish-'));
    const clone = join(temp, 'clone');
    const tracked = (await sh('git', ['ls-files', '-z'], root)).split('\0').filter(Boolean);
    for (const file of tracked) {
      await mkdir(dirname(join(clone, file)), { recursive: true });
      // A tracked file deleted in the work tree is not part of the clone.
      await copyFile(join(root, file), join(clone, file)).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') throw error;
      });
    }
    // prepack needs the compiler; a clone gets it from `npm ci`, this one borrows ours.
    await symlink(join(root, 'node_modules'), join(clone, 'node_modules'), 'dir');
    await sh('npm', ['pack', '--pack-destination', temp, '--loglevel=error'], clone);
    const [tarball] = (await readdir(temp)).filter((name) => name.endsWith('.tgz'));
    expect(tarball, 'npm pack wrote no tarball').to.be.a('string');
    consumer = join(temp, 'consumer');
    await mkdir(consumer);
    await writeFile(
      join(consumer, 'package.json'),
      '{ "name": "consumer", "private": true, "type": "module" }\n',
    );
    await sh(
      'npm',
      ['install', join(temp, tarball as string), '--offline', '--no-audit', '--no-fund'],
      consumer,
    );
  });

  after(async () => {
    if (temp !== '') await rm(temp, { recursive: true, force: true });
  });

  it('ships the compiled library: import from ESM works', async () => {
    await writeFile(
      join(consumer, 'esm.mjs'),
      `import { WaitGroup } from 'awaitgroup';\nconst wg = new WaitGroup();\n${USE}\n`,
    );
    const out = await sh(process.execPath, ['esm.mjs'], consumer);
    expect(JSON.parse(out)).to.deep.equal({ counter: 0, shared: true });
  });

  it("works from CommonJS through require('awaitgroup')", async () => {
    await writeFile(
      join(consumer, 'cjs.cjs'),
      `const { WaitGroup, WaitGroupError } = require('awaitgroup');
if (typeof WaitGroupError !== 'function') throw new Error('no WaitGroupError');
(async () => {
const wg = new WaitGroup();
${USE}
})();
`,
    );
    const out = await sh(process.execPath, ['--no-warnings', 'cjs.cjs'], consumer);
    expect(JSON.parse(out)).to.deep.equal({ counter: 0, shared: true });
  });

  it('type-checks a strict consumer with lib ES2022 + DOM, no @types/node, skipLibCheck false', async () => {
    await writeFile(join(consumer, 'consumer.ts'), CONSUMER_TS);
    await writeFile(join(consumer, 'tsconfig.json'), `${JSON.stringify(TSCONFIG, null, 2)}\n`);
    const tsc = join(root, 'node_modules', '.bin', 'tsc');
    const out = await sh(tsc, ['-p', 'tsconfig.json'], consumer);
    expect(out).to.equal('');
  });
});
