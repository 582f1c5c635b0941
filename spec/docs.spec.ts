/**
 * What users read names nothing they cannot look up: the README and the doc
 * comments of the shipped declarations (what an editor shows on hover) carry
 * no rule id of the project's specification (S16, D4, E3, R13, "SPEC §7")
 * and no {@link} to a type the package does not export. Rule ids belong in
 * `//` comments, test titles and docs/.
 *
 * @module
 */

import { readdir, readFile } from 'node:fs/promises';
import { expect } from 'chai';

const root = new URL('../../', import.meta.url);

/** A rule id of the specification, or a reference to it or to the repository's own notes. */
const RULE = /\b[SDERT]\d{1,2}\b|\bSPEC\b|§|STYLE\.md|model\/README|PROTOCOL\b/;

/** declarations returns the paths of every .d.ts file under dist/lib/, relative to the root. */
async function declarations(): Promise<string[]> {
  const entries = await readdir(new URL('dist/lib/', root), { recursive: true });
  return entries
    .filter((entry) => entry.endsWith('.d.ts'))
    .map((entry) => `dist/lib/${entry}`)
    .sort();
}

/** docComments returns each /** *\/ comment of `text` with the line it starts on. */
function docComments(text: string): { line: number; text: string }[] {
  const found: { line: number; text: string }[] = [];
  for (const match of text.matchAll(/\/\*\*[\s\S]*?\*\//g)) {
    found.push({ line: text.slice(0, match.index).split('\n').length, text: match[0] });
  }
  return found;
}

/** exportedNames returns the names an entry's .d.ts exports, types included. */
async function exportedNames(entry: string): Promise<string[]> {
  const text = await readFile(new URL(entry, root), 'utf8');
  const names: string[] = [];
  for (const [, list] of text.matchAll(/export\s+(?:type\s+)?\{([^}]*)\}/g)) {
    for (const part of (list ?? '').split(',')) {
      const name = part
        .trim()
        .replace(/^type\s+/, '')
        .split(/\s+as\s+/)
        .pop();
      if (name) names.push(name);
    }
  }
  for (const [, name] of text.matchAll(
    /export\s+(?:declare\s+)?(?:class|interface|type|function|const)\s+(\w+)/g,
  )) {
    if (name) names.push(name);
  }
  return names;
}

describe('what users read names only what they can look up', () => {
  it('the README cites no rule id of the specification', async () => {
    const readme = (await readFile(new URL('README.md', root), 'utf8')).split('\n');
    const cited = readme
      .map((line, index) => ({ line: index + 1, text: line }))
      .filter(({ text }) => RULE.test(text));
    expect(cited, 'README lines').to.deep.equal([]);
  });

  it('the doc comments of dist/lib/**/*.d.ts cite no rule id', async () => {
    const cited: string[] = [];
    for (const file of await declarations()) {
      const text = await readFile(new URL(file, root), 'utf8');
      for (const comment of docComments(text)) {
        comment.text.split('\n').forEach((line, offset) => {
          if (RULE.test(line)) cited.push(`${file}:${comment.line + offset}: ${line.trim()}`);
        });
      }
    }
    expect(cited).to.deep.equal([]);
  });

  it('every {@link} in them names a type the package exports', async () => {
    const exported = new Set([
      ...(await exportedNames('dist/lib/index.d.ts')),
      ...(await exportedNames('dist/lib/redis/index.d.ts')),
    ]);
    expect(exported).to.include('WaitGroup');
    const broken: string[] = [];
    for (const file of await declarations()) {
      const text = await readFile(new URL(file, root), 'utf8');
      for (const comment of docComments(text)) {
        for (const [link, target] of comment.text.matchAll(/\{@link\s+([^\s}|]+)[^}]*\}/g)) {
          const name = (target ?? '').split('.')[0] ?? '';
          if (!exported.has(name)) broken.push(`${file}:${comment.line}: ${link}`);
        }
      }
    }
    expect(broken).to.deep.equal([]);
  });
});
