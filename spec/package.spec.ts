import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { expect } from 'chai';

const root = new URL('../../', import.meta.url);
const run = promisify(execFile);

async function libModules(recursive = false): Promise<string[]> {
  const names = await readdir(new URL('lib/', root), { recursive });
  return names.filter((name) => name.endsWith('.ts')).map((name) => name.slice(0, -3));
}

describe('package', () => {
  it('ships only the build, its types and source maps, the command, the README and the LICENSE', async function () {
    this.timeout(60_000);
    const { stdout } = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
      cwd: root,
    });
    const [pack] = JSON.parse(stdout) as [{ files: { path: string }[] }];
    const shipped = pack.files.map((file) => file.path).sort();
    const expected = ['LICENSE', 'README.md', 'package.json'];
    // Recursive: the awaitgroup/redis entry ships from dist/lib/redis/.
    for (const name of await libModules(true)) {
      expected.push(`dist/lib/${name}.js`, `dist/lib/${name}.js.map`, `dist/lib/${name}.d.ts`);
    }
    // The awaitgroup command (package.json bin) and its helpers.
    for (const folder of ['bin', 'cli']) {
      for (const name of await readdir(new URL(`${folder}/`, root))) {
        if (!name.endsWith('.ts')) continue;
        const base = `dist/${folder}/${name.slice(0, -3)}`;
        expected.push(`${base}.js`, `${base}.js.map`, `${base}.d.ts`);
      }
    }
    expect(shipped).to.deep.equal(expected.sort());
  });

  it('resolves its own name through the exports map to the same WaitGroup', async () => {
    const byName = await import('awaitgroup');
    const byPath = await import('../lib/index.js');
    expect(byName.WaitGroup).to.equal(byPath.WaitGroup);
    expect(byName.WaitGroupError).to.equal(byPath.WaitGroupError);
  });

  it('exports exactly ErrGroup, WaitGroup and WaitGroupError at run time', async () => {
    const surface = await import('../lib/index.js');
    expect(Object.keys(surface).sort()).to.deep.equal(['ErrGroup', 'WaitGroup', 'WaitGroupError']);
  });

  it('keeps lib/ free of Node imports, so the same build runs in browsers', async () => {
    for (const name of await libModules()) {
      const source = await readFile(new URL(`lib/${name}.ts`, root), 'utf8');
      expect(source, `lib/${name}.ts`).not.to.match(/from ['"]node:|require\(|process\./);
    }
  });

  it('declares zero runtime dependencies, ESM, engines and types first in exports', async () => {
    const manifest = JSON.parse(await readFile(new URL('package.json', root), 'utf8'));
    expect(manifest.dependencies ?? {}).to.deep.equal({});
    expect(manifest.type).to.equal('module');
    expect(manifest.engines.node).to.equal('>=20.19');
    expect(Object.keys(manifest.exports['.'])[0]).to.equal('types');
  });
});
