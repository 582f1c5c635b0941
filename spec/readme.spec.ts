import { readFile } from 'node:fs/promises';
import { expect } from 'chai';

const root = new URL('../../', import.meta.url);

/** A README code block that says which example file it is taken from. */
interface Snippet {
  readonly source: string;
  readonly code: string[];
}

/** snippets finds each ```ts block whose preceding paragraph links to examples/*.ts. */
function snippets(readme: string): Snippet[] {
  const found: Snippet[] = [];
  const block = /From \[`(examples\/[\w/-]+\.ts)`\][^`]*?(?:`[^`]*`[^`]*?)*?```ts\n([\s\S]*?)```/g;
  for (const match of readme.matchAll(block)) {
    const [, source, code] = match;
    if (source !== undefined && code !== undefined) found.push({ source, code: code.split('\n') });
  }
  return found;
}

describe('README', () => {
  it('takes its example snippets from examples/, line for line, so they cannot rot', async () => {
    const readme = await readFile(new URL('README.md', root), 'utf8');
    const found = snippets(readme);
    expect(found.map((snippet) => snippet.source)).to.include.members([
      'examples/fetch-fanout.ts',
      'examples/stream-consumers.ts',
      'examples/workers.ts',
    ]);
    for (const { source, code } of found) {
      const lines = new Set(
        (await readFile(new URL(source, root), 'utf8')).split('\n').map((line) => line.trim()),
      );
      for (const line of code.map((text) => text.trim())) {
        // Blank lines and whole-line comments may be added to join excerpts.
        if (line === '' || line.startsWith('//')) continue;
        expect(lines.has(line), `${source} has no line ${JSON.stringify(line)}`).to.equal(true);
      }
    }
  });

  it('gives the test command that .ci/run runs', async () => {
    const readme = await readFile(new URL('README.md', root), 'utf8');
    const ci = await readFile(new URL('.ci/run', root), 'utf8');
    expect(readme).to.include('npm ci && npm test');
    expect(ci).to.match(/^npm ci\b/m);
    // Each suite runs through .ci/run's `suite NAME COMMAND...`.
    expect(ci).to.match(/^suite "[^"]+" npm test$/m);
    expect(ci).to.match(/^suite "[^"]+" npm run test:browser$/m);
  });
});
