import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { LABELS } from '../bench/contenders.js';
import { WORKLOADS } from '../bench/workloads.js';

const run = promisify(execFile);
const harness = fileURLToPath(new URL('../bench/run.js', import.meta.url));

interface Report {
  quick: boolean;
  machine: { node: string; cpus: number; cpu: string };
  workloads: {
    id: string;
    baseline: string;
    results: { contender: string; n: number; median: Record<string, number> }[];
  }[];
  failures: string[];
}

// A smoke run: the harness works end to end. No timings are asserted.
describe('bench harness (--quick)', function () {
  this.timeout(180_000); // hang guard: a quick run takes seconds

  let out: string;
  let stdout: string;
  let report: Report;

  before(async () => {
    out = await mkdtemp(join(tmpdir(), 'awaitgroup-bench-'));
    ({ stdout } = await run(process.execPath, [harness, '--quick', `--out=${out}`], {
      maxBuffer: 16 * 1024 * 1024,
    }));
    report = JSON.parse(await readFile(join(out, 'latest.json'), 'utf8')) as Report;
  });

  after(async () => {
    if (out !== undefined) await rm(out, { recursive: true, force: true });
  });

  it('prints a section for every workload', () => {
    for (const w of WORKLOADS) expect(stdout).to.include(`\n## ${w.id} `);
  });

  it('prints a row for every contender of every workload, none failed', () => {
    for (const w of WORKLOADS) {
      const start = stdout.indexOf(`\n## ${w.id} `);
      const end = stdout.indexOf('\n## ', start + 1);
      const section = stdout.slice(start, end);
      for (const c of w.contenders) {
        const line = section.split('\n').find((l) => l.startsWith(`  ${LABELS[c]}`));
        expect(line, `${w.id} ${c}`).to.be.a('string');
        expect(line).to.not.include('failed');
      }
    }
  });

  it('prints the SPEC §7 targets', () => {
    expect(stdout).to.include('## SPEC §7 targets');
    expect(stdout).to.match(/add\+done pair ≤ 3 × \(b\)/);
  });

  it('writes latest.json and a timestamped copy with the same content', async () => {
    const names = (await readdir(out)).sort();
    expect(names).to.have.length(2);
    expect(names).to.include('latest.json');
    const [stamped] = names.filter((name) => name !== 'latest.json');
    expect(stamped).to.match(/^\d{4}-\d\d-\d\dT[\d-]+Z\.json$/);
    const copy = JSON.parse(await readFile(join(out, stamped as string), 'utf8')) as Report;
    expect(copy).to.deep.equal(report);
  });

  it('records every workload and contender with finite medians', () => {
    expect(report.quick).to.equal(true);
    expect(report.failures).to.deep.equal([]);
    expect(report.machine.node).to.equal(process.version);
    expect(report.workloads.map((w) => w.id)).to.deep.equal(WORKLOADS.map((w) => w.id));
    for (const w of WORKLOADS) {
      const recorded = report.workloads.find((r) => r.id === w.id);
      expect(recorded?.baseline).to.equal(w.baseline);
      const contenders = recorded?.results.map((r) => r.contender).sort();
      expect(contenders, w.id).to.deep.equal([...w.contenders].sort());
      for (const result of recorded?.results ?? []) {
        expect(result.n).to.equal(w.quickN);
        for (const m of w.metrics) {
          expect(Number.isFinite(result.median[m.key]), `${w.id} ${result.contender} ${m.key}`).to
            .be.true;
        }
      }
    }
  });
});
