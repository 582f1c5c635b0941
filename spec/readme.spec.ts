/**
 * The README's code cannot rot: every TypeScript block in it says, in an HTML
 * comment just above it, how it is checked, and this suite checks it.
 *
 * - `<!-- readme-test: run -->`: a complete program. It is type-checked with
 *   the project's compiler against the built package (imported by its name,
 *   `awaitgroup`, as a user imports it) and run; it must exit 0 with nothing
 *   on stderr.
 * - `<!-- readme-test: compile -->`: a complete program that needs what a test
 *   cannot give it (a Redis server): type-checked only.
 * - `<!-- readme-test: excerpt examples/x.ts -->`: lines of an example, which
 *   spec/examples.spec.ts runs; every line must be in that file (blank lines
 *   and whole-line comments may be added to join excerpts, and an import from
 *   `awaitgroup` must name what the example imports from the package).
 *
 * @module
 */

import { execFile, spawn } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { collect, stopChildren } from './helpers/child.js';

const run = promisify(execFile);
const root = new URL('../../', import.meta.url);
const ROOT = fileURLToPath(root);
/** Where the blocks are written and compiled: inside the package, so that `awaitgroup` resolves to it. */
const WORK = new URL('.cache/readme-blocks/', root);
const HANG_GUARD_MS = 30_000;

/** One fenced TypeScript block of the README and how it is checked. */
interface Block {
  readonly line: number;
  readonly kind: 'run' | 'compile' | 'excerpt' | undefined;
  readonly source: string | undefined;
  readonly code: string;
}

/** blocks returns every ```ts and ```js block of `readme` with the marker above it, if any. */
function blocks(readme: string): Block[] {
  const found: Block[] = [];
  const lines = readme.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(ts|js|typescript|javascript)\s*$/.exec(lines[i] ?? '');
    if (open === null) {
      if (/^```/.test(lines[i] ?? '')) {
        // Skip another language's block whole.
        for (i++; i < lines.length && !/^```\s*$/.test(lines[i] ?? ''); i++);
      }
      continue;
    }
    let above = i - 1;
    while (above >= 0 && (lines[above] ?? '').trim() === '') above--;
    const marker = /^<!-- readme-test: (run|compile|excerpt)(?: (\S+))? -->$/.exec(
      lines[above] ?? '',
    );
    const start = i + 1;
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i] ?? ''); i++);
    found.push({
      line: start,
      kind: marker?.[1] as Block['kind'],
      source: marker?.[2],
      code: lines.slice(start, i).join('\n'),
    });
  }
  return found;
}

/** importedNames returns the names `code` imports from `module` (types included). */
function importedNames(code: string, module: string): string[] {
  const names: string[] = [];
  const pattern = /import\s+(?:type\s+)?\{([^}]*)\}\s+from\s+'([^']+)'/g;
  for (const [, list, from] of code.matchAll(pattern)) {
    if (from !== module || list === undefined) continue;
    for (const part of list.split(',')) {
      const name = part
        .trim()
        .replace(/^type\s+/, '')
        .split(/\s+as\s+/)[0];
      if (name) names.push(name);
    }
  }
  return names;
}

const readme = await readFile(new URL('README.md', root), 'utf8');
const found = blocks(readme);

describe('README', function () {
  this.timeout(120_000);
  afterEach(stopChildren);

  it('marks every TypeScript block with how it is checked', () => {
    const unmarked = found.filter((block) => block.kind === undefined).map((block) => block.line);
    expect(unmarked, 'README lines of blocks with no readme-test marker').to.deep.equal([]);
    expect(found.filter((block) => block.kind === 'run').length).to.be.greaterThanOrEqual(3);
  });

  it('takes its excerpts from examples/, line for line', async () => {
    const excerpts = found.filter((block) => block.kind === 'excerpt');
    expect(excerpts.map((block) => block.source)).to.include.members([
      'examples/errgroup-crawl.ts',
      'examples/workers.ts',
    ]);
    for (const { source, code, line } of excerpts) {
      expect(source, `README line ${line}: the excerpt names its file`).to.match(/^examples\//);
      const text = await readFile(new URL(source as string, root), 'utf8');
      const lines = new Set(text.split('\n').map((each) => each.trim()));
      for (const each of code.split('\n').map((text) => text.trim())) {
        if (each === '' || each.startsWith('//')) continue;
        const from = /from '(awaitgroup(?:\/redis)?)';$/.exec(each)?.[1];
        if (from !== undefined) {
          const local = from === 'awaitgroup' ? '../lib/index.js' : '../lib/redis/index.js';
          const has = importedNames(text, local);
          for (const name of importedNames(each, from)) {
            expect(has, `${source} imports ${name} from ${local}`).to.include(name);
          }
          continue;
        }
        expect(lines.has(each), `${source} has no line ${JSON.stringify(each)}`).to.equal(true);
      }
    }
  });

  describe('its complete programs type-check against the package and run', () => {
    const programs = found.filter((block) => block.kind === 'run' || block.kind === 'compile');
    const fileOf = (block: Block) => `line-${block.line}.ts`;

    before(async () => {
      await rm(WORK, { recursive: true, force: true });
      await mkdir(new URL('src/', WORK), { recursive: true });
      for (const block of programs) {
        await writeFile(new URL(`src/${fileOf(block)}`, WORK), `${block.code}\n`);
      }
      const config = JSON.parse(await readFile(new URL('tsconfig.json', root), 'utf8')) as {
        compilerOptions: Record<string, unknown>;
      };
      await writeFile(
        new URL('tsconfig.json', WORK),
        JSON.stringify({
          compilerOptions: {
            ...config.compilerOptions,
            rootDir: 'src',
            outDir: 'out',
            types: ['node'],
            // A block may import a name only to show where it comes from.
            noUnusedLocals: false,
            declaration: false,
            sourceMap: false,
            inlineSources: false,
          },
          include: ['src/*.ts'],
        }),
      );
    });

    it('type-checks every program with the project compiler (the package imported by its name)', async () => {
      const tsc = fileURLToPath(new URL('node_modules/typescript/bin/tsc', root));
      const config = fileURLToPath(new URL('tsconfig.json', WORK));
      const result = await run(process.execPath, [tsc, '-p', config], { cwd: ROOT }).catch(
        (error: { stdout?: string; stderr?: string }) => error,
      );
      const output = `${result.stdout ?? ''}${result.stderr ?? ''}`;
      // Name each error by its README line.
      expect(
        output.replace(/src\/line-(\d+)\.ts\((\d+)/g, 'README block at line $1 (+$2'),
        output,
      ).to.equal('');
    });

    for (const block of found.filter((each) => each.kind === 'run')) {
      it(`runs the program at README line ${block.line}: exit 0, nothing on stderr`, async () => {
        const file = fileURLToPath(new URL(`out/${fileOf(block).replace(/\.ts$/, '.js')}`, WORK));
        const child = spawn(process.execPath, ['--unhandled-rejections=strict', file], {
          cwd: ROOT,
          env: { ...process.env, AWAITGROUP_DEBUG: '' },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        const outcome = await collect(child, HANG_GUARD_MS);
        const shown = `stdout:\n${outcome.stdout}\nstderr:\n${outcome.stderr}`;
        expect(outcome.code, shown).to.equal(0);
        expect(outcome.stderr, shown).to.equal('');
      });
    }
  });

  it('shows the report examples/forgotten-done.ts prints, as it prints it', async () => {
    const file = fileURLToPath(new URL('dist/examples/forgotten-done.js', root));
    const child = spawn(process.execPath, ['--enable-source-maps', file], {
      cwd: ROOT,
      env: { ...process.env, AWAITGROUP_DEBUG: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const outcome = await collect(child, HANG_GUARD_MS);
    // The process id and the ages differ from run to run.
    const normal = (text: string) =>
      text.replace(/^\(node:\d+\)/, '(node:PID)').replace(/\d+\.\d s ago/g, 'N s ago');
    const printed = outcome.stderr
      .split('\n')
      .find((line) => line.includes('[AWAITGROUP_PENDING_WAIT]'));
    const shown = readme.split('\n').find((line) => line.includes('[AWAITGROUP_PENDING_WAIT]'));
    expect(printed, outcome.stderr).to.be.a('string');
    expect(normal(shown ?? '')).to.equal(normal(printed ?? ''));
  });

  it('tells a fresh clone to run npm ci once, then npm test, as .ci/run does', async () => {
    const ci = await readFile(new URL('.ci/run', root), 'utf8');
    const quickStart = readme.slice(readme.indexOf('## Quick start'), readme.indexOf('## Install'));
    expect(quickStart.match(/npm ci\b/g)).to.have.length(1);
    expect(quickStart).to.match(/^npm test\b/m);
    expect(ci).to.match(/^npm ci\b/m);
    // Each suite runs through .ci/run's `suite NAME COMMAND...`.
    expect(ci).to.match(/^suite "[^"]+" npm test$/m);
  });

  it('lists every error code of the package in one table', async () => {
    const errors = await readFile(new URL('lib/errors.ts', root), 'utf8');
    const codes = new Set(errors.match(/'ERR_[A-Z_]+'/g)?.map((code) => code.slice(1, -1)));
    expect(codes.size).to.be.greaterThanOrEqual(8);
    const table = readme
      .split('\n')
      .filter((line) => /^\| `ERR_/.test(line))
      .map((line) => /^\| `(ERR_[A-Z_]+)`/.exec(line)?.[1]);
    for (const code of codes) expect(table, `the README's error table`).to.include(code);
    for (const code of ['ERR_WAITGROUP_UNAVAILABLE', 'ERR_ERRGROUP_TASK_FAILED']) {
      expect(table).to.include(code);
    }
  });

  it('keeps a marked place for each section the other work adds', () => {
    for (const section of ['errgroup', 'redis-production', 'tracing', 'ps']) {
      expect(readme).to.include(`<!-- section: ${section} -->`);
    }
  });
});
