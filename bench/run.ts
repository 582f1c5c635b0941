/**
 * The benchmark harness (SPEC §7): every (workload × contender) runs in a
 * fresh `node --expose-gc` child process (no JIT cross-talk), which warms up,
 * repeats rounds and reports medians. The table shows each median and its
 * ratio to the workload's baseline measured in the same run, then the SPEC §7
 * targets, met or not. Results are written as JSON to
 * bench/results/<timestamp>.json and bench/results/latest.json.
 *
 *   npm run bench                      # the full run
 *   node dist/bench/run.js --quick     # a seconds-long smoke run
 *   node dist/bench/run.js --only=pairs-1e7,release --contenders=b,local
 *   node dist/bench/run.js --out=/tmp/results
 *
 * @module
 */

import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildResult } from './child.js';
import { LABELS } from './contenders.js';
import { WORKLOADS, type Workload } from './workloads.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..', '..');

interface Options {
  readonly quick: boolean;
  readonly only: readonly string[] | undefined;
  readonly contenders: readonly string[] | undefined;
  readonly out: string;
}

function parseArgs(argv: readonly string[]): Options {
  let quick = false;
  let only: string[] | undefined;
  let contenders: string[] | undefined;
  let out = join(root, 'bench', 'results');
  for (const arg of argv) {
    if (arg === '--quick') quick = true;
    else if (arg.startsWith('--only=')) only = arg.slice(7).split(',');
    else if (arg.startsWith('--contenders=')) contenders = arg.slice(13).split(',');
    else if (arg.startsWith('--out=')) out = resolve(arg.slice(6));
    else throw new Error(`bench: unknown argument ${arg}`);
  }
  return { quick, only, contenders, out };
}

/** runChild measures one contender on one workload in a fresh process. */
function runChild(
  w: Workload,
  contender: string,
  quick: boolean,
  rounds: number,
): Promise<ChildResult> {
  // Single-threaded workloads are timed in CPU time; keep the collector on
  // the main thread so that its work is counted the same way for everyone
  // and no helper thread's share blurs the ratios.
  const flags = w.kind === 'shared' ? ['--expose-gc'] : ['--expose-gc', '--single-threaded-gc'];
  const args = [...flags, join(here, 'child.js'), w.id, contender];
  args.push(quick ? 'quick' : String(rounds));
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    const limit = quick ? 60_000 : 180_000;
    const timer = setTimeout(() => child.kill('SIGKILL'), limit);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const line = stdout.trim().split('\n').pop() ?? '';
      if (code !== 0 || line === '') {
        reject(new Error(`${w.id} ${contender}: exit ${code ?? signal}\n${stderr}`));
        return;
      }
      resolvePromise(JSON.parse(line) as ChildResult);
    });
  });
}

/** How many passes through the contenders a full run makes per workload, unless it says. */
const PASSES = 3;

function median(values: readonly number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** merge pools the samples of two passes and takes the medians again. */
function merge(before: ChildResult | undefined, next: ChildResult): ChildResult {
  if (before === undefined) return next;
  const samples: Record<string, number[]> = {};
  const medians: Record<string, number> = {};
  for (const [key, values] of Object.entries(next.samples)) {
    samples[key] = [...(before.samples[key] ?? []), ...values];
    medians[key] = median(samples[key]);
  }
  return { ...next, samples, median: medians };
}

function format(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  if (abs >= 1000) return value.toFixed(0);
  if (abs >= 100) return value.toFixed(1);
  if (abs >= 10) return value.toFixed(2);
  return value.toFixed(3);
}

/** One line per workload: what is measured, and the ratio against what. */
function header(w: Workload, n: number): string {
  const cols = w.metrics.map((m) => `${m.key.padStart(11)} ${'×base'.padStart(7)}`).join('  ');
  return `\n## ${w.id}  ${w.title} (n=${n}; ratios × ${LABELS[w.baseline]})\n${''.padEnd(34)}${cols}`;
}

function row(w: Workload, result: ChildResult, base: ChildResult | undefined): string {
  const cols = w.metrics
    .map((m) => {
      const value = result.median[m.key] ?? Number.NaN;
      const ref = base?.median[m.key];
      const ratio = ref === undefined ? '' : `${(value / ref).toFixed(2)}×`;
      return `${format(value).padStart(11)} ${ratio.padStart(7)}`;
    })
    .join('  ');
  return `  ${(LABELS[result.contender] ?? result.contender).padEnd(32)}${cols}`;
}

/** A SPEC §7 target and how this run did. */
interface Verdict {
  readonly target: string;
  readonly measured: string;
  readonly met: boolean | undefined;
}

type Results = Map<string, Map<string, ChildResult>>;

function metric(results: Results, w: string, c: string, key: string): number | undefined {
  return results.get(w)?.get(c)?.median[key];
}

function ratio(results: Results, w: string, c: string, base: string, key: string) {
  const value = metric(results, w, c, key);
  const ref = metric(results, w, base, key);
  return value === undefined || ref === undefined ? undefined : value / ref;
}

/** verdict holds `value` to `value ≤ limit`, or `value ≥ limit` when `atLeast`. */
function verdict(
  target: string,
  value: number | undefined,
  limit: number,
  unit = '×',
  atLeast = false,
): Verdict {
  if (value === undefined) return { target, measured: 'not measured', met: undefined };
  const shown = unit === '×' ? `${value.toFixed(2)}×` : `${format(value)} ${unit}`;
  return { target, measured: shown, met: atLeast ? value >= limit : value <= limit };
}

/** verdicts checks every SPEC §7 target against this run's medians. */
function verdicts(r: Results): Verdict[] {
  const out: Verdict[] = [];
  for (const n of ['1e4', '1e5', '1e6']) {
    const w = `fanout-${n}`;
    out.push(verdict(`fan-out ${n}, go() ≤ 1.10 × (b)`, ratio(r, w, 'local-go', 'b', 'ms'), 1.1));
    out.push(verdict(`fan-out ${n}, add+done ≤ 1.10 × (b)`, ratio(r, w, 'local', 'b', 'ms'), 1.1));
  }
  const pair = ratio(r, 'pairs-1e7', 'local', 'b', 'ns/pair');
  out.push(verdict('add+done pair ≤ 3 × (b)', pair, 3));
  const naive = ratio(r, 'pairs-1e7', 'e', 'b', 'ns/pair');
  out.push(
    verdict(
      'add+done pair ≤ 1/3 of (e)',
      pair === undefined || naive === undefined ? undefined : pair / naive,
      1 / 3,
    ),
  );
  out.push(
    verdict('release 1e4 waiters ≤ 1.2 × (b′)', ratio(r, 'release-1e4', 'local', 'b2', 'ms'), 1.2),
  );
  const r4 = metric(r, 'release-1e4', 'local', 'ms');
  const r5 = metric(r, 'release-1e5', 'local', 'ms');
  out.push(
    verdict(
      'release 1e5 ≤ 12 × release 1e4',
      r4 === undefined || r5 === undefined ? undefined : r5 / r4,
      12,
    ),
  );
  out.push(
    verdict('already-zero wait ≤ 1.1 × (b)', ratio(r, 'zero-wait', 'local', 'b', 'ns/wait'), 1.1),
  );
  out.push(
    verdict('idle local group ≤ 320 B', metric(r, 'memory-idle', 'local', 'B/group'), 320, 'B'),
  );
  out.push(
    verdict(
      'pending waiter ≤ 1.1 × (b′)',
      ratio(r, 'memory-waiter', 'local', 'b2', 'B/waiter'),
      1.1,
    ),
  );
  for (const t of ['2', '4']) {
    const w = `shared-T${t}-K1e4`;
    out.push(
      verdict(`shared T=${t} K=1e4, per done ≤ 2 × (d)`, ratio(r, w, 'shared', 'd', 'ns/done'), 2),
    );
    out.push(
      verdict(
        `shared T=${t} K=1e4, (c) per done ≥ 10 × ours`,
        ratio(r, w, 'c', 'shared', 'ns/done'),
        10,
        '×',
        true,
      ),
    );
    for (const k of ['1', '1e4']) {
      const wk = `shared-T${t}-K${k}`;
      out.push(
        verdict(
          `shared T=${t} K=${k}, wake ≤ 1.5 × (d)`,
          ratio(r, wk, 'shared', 'd', 'wake µs'),
          1.5,
        ),
      );
    }
  }
  out.push(
    verdict(
      'ErrGroup limit 16 ≤ 0.8 × p-limit',
      ratio(r, 'errgroup-limit16', 'errgroup', 'plimit', 'ms'),
      0.8,
    ),
  );
  out.push(
    verdict(
      'ErrGroup queued task ≤ 0.8 × p-limit heap',
      ratio(r, 'errgroup-queued', 'errgroup', 'plimit', 'B/task'),
      0.8,
    ),
  );
  out.push(
    verdict(
      'ErrGroup unlimited ≤ 1.15 × go()',
      ratio(r, 'errgroup-unlimited', 'errgroup', 'wg-go', 'ms'),
      1.15,
    ),
  );
  return out;
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const cpu = cpus()[0]?.model ?? 'unknown';
  const machine = {
    node: process.version,
    v8: process.versions.v8,
    cpus: cpus().length,
    cpu,
    platform: `${process.platform} ${process.arch}`,
  };
  const started = new Date();
  console.log(
    `awaitgroup bench ${options.quick ? '(quick) ' : ''}${started.toISOString()}\n` +
      `node ${machine.node} (V8 ${machine.v8}), ${machine.cpus} CPUs: ${cpu}\n` +
      'medians of rounds, each (workload × contender) in its own process; single-threaded\n' +
      'workloads in CPU time (--single-threaded-gc), shared ones in wall time',
  );
  const selected = WORKLOADS.filter(
    (w) => options.only === undefined || options.only.some((p) => w.id.startsWith(p)),
  );
  const results: Results = new Map();
  const failures: string[] = [];
  for (const w of selected) {
    const contenders = w.contenders.filter(
      (c) => options.contenders === undefined || options.contenders.includes(c),
    );
    console.log(header(w, options.quick ? w.quickN : w.n));
    const byContender = new Map<string, ChildResult>();
    results.set(w.id, byContender);
    // The baseline first, so every row can show its ratio as it arrives.
    const order = [...contenders].sort(
      (x, y) => Number(y === w.baseline) - Number(x === w.baseline),
    );
    // The rounds are split over passes through all contenders, each pass a
    // fresh process per contender, so that a slow spell of the machine
    // lands on every contender rather than on one.
    const passes = options.quick ? 1 : (w.passes ?? PASSES);
    const rounds = Math.ceil(w.rounds / passes);
    const failed = new Set<string>();
    for (let pass = 0; pass < passes; pass++) {
      for (const c of order) {
        if (failed.has(c)) continue;
        try {
          const result = await runChild(w, c, options.quick, rounds);
          byContender.set(c, merge(byContender.get(c), result));
        } catch (error) {
          failed.add(c);
          failures.push((error as Error).message);
          console.log(
            `  ${(LABELS[c] ?? c).padEnd(32)}failed: ${(error as Error).message.split('\n')[0]}`,
          );
        }
      }
    }
    for (const c of order) {
      const result = byContender.get(c);
      if (result !== undefined) console.log(row(w, result, byContender.get(w.baseline)));
    }
  }
  const checks = verdicts(results).filter((v) => v.met !== undefined);
  console.log('\n## SPEC §7 targets');
  for (const v of checks) {
    console.log(
      `  ${(v.met ? 'met    ' : 'NOT MET').padEnd(8)} ${v.target.padEnd(44)} ${v.measured}`,
    );
  }
  const seconds = (Date.now() - started.getTime()) / 1000;
  console.log(`\n${seconds.toFixed(1)} s`);
  const json = {
    date: started.toISOString(),
    quick: options.quick,
    machine,
    seconds,
    workloads: selected.map((w) => ({
      id: w.id,
      title: w.title,
      baseline: w.baseline,
      results: [...(results.get(w.id)?.values() ?? [])],
    })),
    targets: checks,
    failures,
  };
  mkdirSync(options.out, { recursive: true });
  const text = `${JSON.stringify(json, null, 2)}\n`;
  const file = join(options.out, `${started.toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, text);
  writeFileSync(join(options.out, 'latest.json'), text);
  console.log(`results: ${file}`);
  if (failures.length > 0) {
    console.error(failures.join('\n'));
    process.exitCode = 1;
  }
}

await main();
