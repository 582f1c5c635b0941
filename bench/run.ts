/**
 * The benchmark harness (SPEC §7): every (workload × contender × Node line)
 * runs in a fresh `node --expose-gc` child process of that line (no JIT
 * cross-talk), which warms up, repeats rounds and reports medians. The
 * table shows, per Node line, each median and its ratio to the workload's
 * baseline measured in the same run on the same line, then the SPEC §7
 * targets with one column per line, met or not. Results are written as JSON
 * to bench/results/<timestamp>.json and bench/results/latest.json.
 *
 *   npm run bench                      # every row on Node 20, 22, 24 and 26
 *   node dist/bench/run.js --quick     # a seconds-long smoke run
 *   node dist/bench/run.js --lines=20,24 --only=fanout,pairs --contenders=b,local
 *   node dist/bench/run.js --lines=24:/opt/node24/bin/node   # a line's binary, given
 *   node dist/bench/run.js --out=/tmp/results
 *   node dist/bench/run.js --only=redis            # the RedisWaitGroup rows alone
 *
 * A line without a given binary is found with `scripts/runtimes.sh path
 * nodeNN` (which installs it from npm if it is missing); a line that cannot
 * be had is skipped with the reason printed, and the others run.
 *
 * After the Node lines, the RedisWaitGroup rows (bench/redis.ts) run on this
 * process' Node only, against a redis-server the bench starts on loopback;
 * their targets join the table in this line's column. Without redis-server
 * they are skipped, saying how to install it; the bench does not fail.
 *
 * @module
 */

import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildResult } from './child.js';
import { LABELS } from './contenders.js';
import { type RedisReport, redisRows } from './redis.js';
import { median } from './stats.js';
import { LINES, WORKLOADS, type Workload } from './workloads.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..', '..');

/** A Node line asked for: its major version and, optionally, its binary. */
interface LineRequest {
  readonly line: string;
  readonly bin: string | undefined;
}

/** A Node line that runs: its binary and what it reports about itself. */
interface Line {
  readonly line: string;
  readonly bin: string;
  readonly node: string;
  readonly v8: string;
}

interface Options {
  readonly quick: boolean;
  readonly only: readonly string[] | undefined;
  readonly contenders: readonly string[] | undefined;
  readonly lines: readonly LineRequest[];
  readonly out: string;
}

function parseArgs(argv: readonly string[]): Options {
  let quick = false;
  let only: string[] | undefined;
  let contenders: string[] | undefined;
  let lines: LineRequest[] = LINES.map((line) => ({ line, bin: undefined }));
  let out = join(root, 'bench', 'results');
  for (const arg of argv) {
    if (arg === '--quick') quick = true;
    else if (arg.startsWith('--only=')) only = arg.slice(7).split(',');
    else if (arg.startsWith('--contenders=')) contenders = arg.slice(13).split(',');
    else if (arg.startsWith('--lines=')) lines = arg.slice(8).split(',').map(lineRequest);
    else if (arg.startsWith('--out=')) out = resolve(arg.slice(6));
    else throw new Error(`bench: unknown argument ${arg}`);
  }
  return { quick, only, contenders, lines, out };
}

/** lineRequest parses `NN` or `NN:PATH` of --lines. */
function lineRequest(spec: string): LineRequest {
  const colon = spec.indexOf(':');
  const line = colon < 0 ? spec : spec.slice(0, colon);
  if (!/^\d+$/.test(line)) {
    throw new Error(
      `bench: --lines takes Node major versions like 20,24 or 24:/path/to/node, got ${spec}`,
    );
  }
  return { line, bin: colon < 0 ? undefined : spec.slice(colon + 1) };
}

/**
 * resolveLine finds the binary of one Node line and checks that it is that
 * line. It returns the reason instead when it cannot.
 */
function resolveLine(request: LineRequest): Line | string {
  let bin = request.bin;
  try {
    if (bin === undefined) {
      bin =
        process.versions.node.split('.')[0] === request.line
          ? process.execPath
          : execFileSync(
              'bash',
              [join(root, 'scripts', 'runtimes.sh'), 'path', `node${request.line}`],
              {
                encoding: 'utf8',
                stdio: ['ignore', 'pipe', 'pipe'],
              },
            ).trim();
    }
    const [node = '', v8 = ''] = execFileSync(
      bin,
      ['-p', 'process.version + " " + process.versions.v8'],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
    )
      .trim()
      .split(' ');
    if (!node.startsWith(`v${request.line}.`)) {
      return `${bin} is Node ${node}, not Node ${request.line}`;
    }
    return { line: request.line, bin, node, v8 };
  } catch (error) {
    const { stderr, message } = error as { stderr?: string; message: string };
    const reason = (stderr?.trim() || message).split('\n').pop() ?? message;
    return `${bin ?? `scripts/runtimes.sh path node${request.line}`}: ${reason}`;
  }
}

/** runChild measures one contender on one workload in a fresh process of `line`. */
function runChild(
  line: Line,
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
    const child = spawn(line.bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
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
      const out = stdout.trim().split('\n').pop() ?? '';
      if (code !== 0 || out === '') {
        reject(
          new Error(`node ${line.line} ${w.id} ${contender}: exit ${code ?? signal}\n${stderr}`),
        );
        return;
      }
      resolvePromise(JSON.parse(out) as ChildResult);
    });
  });
}

/** How many passes through the contenders a full run makes per workload, unless it says. */
const PASSES = 3;

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

/** The column of one Node line: a value and its ratio, or a note. */
const COLUMN = 18;

function lineHeads(lines: readonly Line[]): string {
  return lines.map((l) => `node ${l.node}`.padStart(COLUMN)).join('');
}

/** One section per workload: what is measured, and the ratio against what. */
function header(w: Workload, n: number, lines: readonly Line[]): string {
  return (
    `\n## ${w.id}  ${w.title} (n=${n}; ratios × ${LABELS[w.baseline]})\n` +
    `${''.padEnd(50)}${lineHeads(lines)}`
  );
}

/** The rows of one contender: one per metric, one column per Node line. */
function rows(
  w: Workload,
  contender: string,
  lines: readonly Line[],
  byLine: ReadonlyMap<string, ReadonlyMap<string, ChildResult>>,
  failed: ReadonlyMap<string, string>,
): string[] {
  return w.metrics.map((m) => {
    const cols = lines
      .map((l) => {
        const note = failed.get(`${l.line} ${contender}`);
        if (note !== undefined) return 'failed'.padStart(COLUMN);
        const value = byLine.get(l.line)?.get(contender)?.median[m.key];
        if (value === undefined) return '—'.padStart(COLUMN);
        const ref = byLine.get(l.line)?.get(w.baseline)?.median[m.key];
        const ratio = ref === undefined ? '' : ` ${(value / ref).toFixed(2)}×`;
        return `${format(value)}${ratio.padEnd(7)}`.padStart(COLUMN);
      })
      .join('');
    const label = (LABELS[contender] ?? contender).padEnd(37);
    return `  ${label} ${m.key.padEnd(11)}${cols}`;
  });
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

/** verdicts checks every SPEC §7 target against one Node line's medians. */
function verdicts(r: Results): Verdict[] {
  const out: Verdict[] = [];
  for (const n of ['1e4', '1e5', '1e6']) {
    const w = `fanout-${n}`;
    out.push(
      verdict(`fan-out ${n}, add+done ≤ 1.10 × (b)`, ratio(r, w, 'local', 'b', 'ns/task'), 1.1),
    );
  }
  out.push(
    verdict(
      'fan-out 1e4 cold, add+done ≤ 1.10 × (b)',
      ratio(r, 'fanout-cold-1e4', 'local', 'b', 'ns/task'),
      1.1,
    ),
  );
  for (const n of ['1e4', '1e5', '1e6']) {
    const w = `fanout-go-${n}`;
    out.push(
      verdict(`fan-out ${n}, go() ≤ 1.10 × (f)`, ratio(r, w, 'local-go', 'f', 'ns/task'), 1.1),
    );
  }
  out.push(
    verdict(
      'fan-out 1e4 cold, go() ≤ 1.10 × (f)',
      ratio(r, 'fanout-go-cold-1e4', 'local-go', 'f', 'ns/task'),
      1.1,
    ),
  );
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
  const sw = 'shared-waiters-1e4';
  out.push(
    verdict(
      'shared 1e4 waiters, register ≤ 2 × (b′)',
      ratio(r, sw, 'shared', 'b2', 'ns/register'),
      2,
    ),
  );
  out.push(
    verdict(
      'shared 1e4 waiters, release ≤ 2 × (b′)',
      ratio(r, sw, 'shared', 'b2', 'release ms'),
      2,
    ),
  );
  out.push(
    verdict('shared 1e4 waiters, memory ≤ 2 × (b′)', ratio(r, sw, 'shared', 'b2', 'B/waiter'), 2),
  );
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
  out.push(
    verdict(
      'ErrGroup.map 1e5 limit 16 ≤ 0.8 × p-map',
      ratio(r, 'errgroup-map', 'errgroup-map', 'pmap', 'ms'),
      0.8,
    ),
  );
  out.push(
    verdict(
      'ErrGroup.map 1e5 limit 16 peak heap ≤ p-map',
      ratio(r, 'errgroup-map', 'errgroup-map', 'pmap', 'peak B'),
      1,
    ),
  );
  return out;
}

/** markdown renders the targets as a Markdown table, one column per Node line. */
function markdown(
  lines: readonly Line[],
  targets: ReadonlyMap<string, ReadonlyMap<string, Verdict>>,
) {
  const head = `| SPEC §7 row | ${lines.map((l) => `Node ${l.node.slice(1)}`).join(' | ')} |`;
  const rule = `|---|${lines.map(() => '---|').join('')}`;
  const body = [...targets].map(([target, byLine]) => {
    const cols = lines.map((l) => {
      const v = byLine.get(l.line);
      return v === undefined ? '—' : v.met ? `${v.measured} met` : `**${v.measured} not met**`;
    });
    return `| ${target.replaceAll('|', '\\|')} | ${cols.join(' | ')} |`;
  });
  return `${[head, rule, ...body].join('\n')}\n`;
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const cpu = cpus()[0]?.model ?? 'unknown';
  const machine = {
    cpus: cpus().length,
    cpu,
    platform: `${process.platform} ${process.arch}`,
  };
  const started = new Date();
  console.log(
    `awaitgroup bench ${options.quick ? '(quick) ' : ''}${started.toISOString()}\n` +
      `${machine.cpus} CPUs: ${cpu}\n` +
      'medians of rounds, each (workload × contender × Node line) in its own process;\n' +
      'single-threaded workloads in CPU time (--single-threaded-gc), shared ones in wall time',
  );
  const lines: Line[] = [];
  const skipped: { line: string; reason: string }[] = [];
  for (const request of options.lines) {
    const line = resolveLine(request);
    if (typeof line === 'string') {
      skipped.push({ line: request.line, reason: line });
      console.log(`node ${request.line}: skipped, ${line}`);
    } else {
      lines.push(line);
      console.log(`node ${line.line}: ${line.node} (V8 ${line.v8}) ${line.bin}`);
    }
  }
  const selected = WORKLOADS.filter(
    (w) => options.only === undefined || options.only.some((p) => w.id.startsWith(p)),
  );
  /** Medians by Node line, then workload, then contender. */
  const results = new Map<string, Results>(lines.map((l) => [l.line, new Map()]));
  const failures: string[] = [];
  for (const w of selected) {
    const contenders = w.contenders.filter(
      (c) => options.contenders === undefined || options.contenders.includes(c),
    );
    console.log(header(w, options.quick ? w.quickN : w.n, lines));
    const byLine = new Map<string, Map<string, ChildResult>>();
    for (const l of lines) {
      const byContender = new Map<string, ChildResult>();
      byLine.set(l.line, byContender);
      results.get(l.line)?.set(w.id, byContender);
    }
    // The baseline first, so every row can show its ratio as it arrives.
    const order = [...contenders].sort(
      (x, y) => Number(y === w.baseline) - Number(x === w.baseline),
    );
    // The rounds are split over passes through all lines and contenders,
    // each pass a fresh process per (line × contender), so that a slow spell
    // of the machine lands on every contender rather than on one.
    const passes = options.quick ? 1 : (w.passes ?? PASSES);
    const rounds = Math.ceil(w.rounds / passes);
    const failed = new Map<string, string>();
    const begun = Date.now();
    for (let pass = 0; pass < passes; pass++) {
      const jobs = lines.flatMap((l) => order.map((c) => [l, c] as const));
      const next = async (): Promise<void> => {
        for (let job = jobs.shift(); job !== undefined; job = jobs.shift()) {
          const [l, c] = job;
          const key = `${l.line} ${c}`;
          if (failed.has(key)) continue;
          try {
            const result = await runChild(l, w, c, options.quick, rounds);
            const byContender = byLine.get(l.line) as Map<string, ChildResult>;
            byContender.set(c, merge(byContender.get(c), result));
          } catch (error) {
            const message = (error as Error).message;
            failed.set(key, message);
            failures.push(message);
          }
        }
      };
      // A measuring run has one child at a time; a quick run, whose numbers
      // mean nothing, keeps every core busy.
      const parallel = options.quick ? Math.max(1, cpus().length) : 1;
      await Promise.all(Array.from({ length: parallel }, next));
    }
    for (const c of order) for (const text of rows(w, c, lines, byLine, failed)) console.log(text);
    for (const message of failed.values()) console.log(`  failed: ${message.split('\n')[0]}`);
    console.log(`  (${((Date.now() - begun) / 1000).toFixed(1)} s)`);
  }
  // The Redis rows: selected like a workload whose id is 'redis'.
  let redis: RedisReport | undefined;
  if (options.only === undefined || options.only.some((p) => 'redis'.startsWith(p))) {
    const begun = Date.now();
    try {
      redis = await redisRows(options.quick);
    } catch (error) {
      const message = `redis: ${(error as Error).stack ?? error}`;
      failures.push(message);
      console.log(`  failed: ${message.split('\n')[0]}`);
    }
    console.log(`  (${((Date.now() - begun) / 1000).toFixed(1)} s)`);
  }
  const targets = new Map<string, Map<string, Verdict>>();
  for (const l of lines) {
    for (const v of verdicts(results.get(l.line) ?? new Map())) {
      if (v.met === undefined) continue;
      const byLine = targets.get(v.target) ?? new Map<string, Verdict>();
      byLine.set(l.line, v);
      targets.set(v.target, byLine);
    }
  }
  // Measured on this process' Node: the column of its line, shown if that line ran.
  const thisLine = process.versions.node.split('.')[0] as string;
  for (const row of redis?.rows ?? []) {
    // Rows without a target (replicas' cost, memory) are printed above, not judged.
    if (row.informational) continue;
    const target = `Redis ${row.client}: ${row.target}`;
    const byLine = targets.get(target) ?? new Map<string, Verdict>();
    byLine.set(thisLine, { target, measured: row.measured, met: row.met });
    targets.set(target, byLine);
  }
  const width = Math.max(42, ...[...targets.keys()].map((t) => t.length + 1));
  console.log(`\n## SPEC §7 targets\n${''.padEnd(width + 2)}${lineHeads(lines)}`);
  for (const [target, byLine] of targets) {
    const cols = lines
      .map((l) => {
        const v = byLine.get(l.line);
        return (v === undefined ? '—' : `${v.measured} ${v.met ? 'met' : 'NOT MET'}`).padStart(
          COLUMN,
        );
      })
      .join('');
    console.log(`  ${target.padEnd(width)}${cols}`);
  }
  for (const s of skipped) console.log(`  node ${s.line} not run: ${s.reason}`);
  if (redis?.skipped !== undefined) console.log(`  Redis rows not run: ${redis.skipped}`);
  else if (redis !== undefined && !lines.some((l) => l.line === thisLine)) {
    console.log(`  Redis rows ran on Node ${redis.node}, whose line is not a column: see above`);
  }
  const seconds = (Date.now() - started.getTime()) / 1000;
  console.log(`\n${seconds.toFixed(1)} s`);
  const json = {
    date: started.toISOString(),
    quick: options.quick,
    machine,
    lines,
    skipped,
    seconds,
    workloads: selected.map((w) => ({
      id: w.id,
      title: w.title,
      baseline: w.baseline,
      results: Object.fromEntries(
        lines.map((l) => [l.line, [...(results.get(l.line)?.get(w.id)?.values() ?? [])]]),
      ),
    })),
    redis,
    targets: [...targets].map(([target, byLine]) => ({
      target,
      lines: Object.fromEntries(
        [...byLine].map(([line, v]) => [line, { measured: v.measured, met: v.met }]),
      ),
    })),
    failures,
  };
  mkdirSync(options.out, { recursive: true });
  const text = `${JSON.stringify(json, null, 2)}\n`;
  const file = join(options.out, `${started.toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, text);
  writeFileSync(join(options.out, 'latest.json'), text);
  writeFileSync(join(options.out, 'latest.md'), markdown(lines, targets));
  console.log(`results: ${file}`);
  if (failures.length > 0) {
    console.error(failures.join('\n'));
    process.exitCode = 1;
  }
}

await main();
