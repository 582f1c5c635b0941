/**
 * `awaitgroup ps`: what the RedisWaitGroups of a deployment are waiting
 * for, read from their keys. A group named `name` keeps its state under
 * `<prefix>{name}` (a hash: epoch, counter, waiters, gen, ttl, and lost
 * once a task's owner has died), its go() tasks' leases under
 * `<prefix>{name}:leases` (a sorted set of task ids scored by when each
 * lease expires, on Redis' clock) and each task's name and owner under
 * `l:<task id>` of `<prefix>{name}:ops` (with its start time under
 * `s:<task id>` where the library records it).
 *
 * This module reads and formats; it has no state of its own.
 *
 * @module
 */

import { type RedisNode, textOf } from './connect.js';

/** One go() task that holds a unit of a group, from its lease. */
export interface PsTask {
  readonly id: string;
  readonly name: string;
  readonly host: string;
  readonly pid: number | undefined;
  /** When the task started, in Redis ms, where the library records it. */
  readonly since: number | undefined;
  readonly ageMs: number | undefined;
  /** When its lease expires (or expired), in Redis ms. */
  readonly leaseExpiresAt: number;
  /** Whether the lease has expired: the process that ran the task stopped renewing it. */
  readonly expired: boolean;
}

/** One group as `ps` reports it. */
export interface PsGroup {
  readonly name: string;
  /** The server that holds the group's keys, `host:port`. */
  readonly node: string;
  readonly counter: number;
  readonly waiters: number;
  readonly gen: number;
  /** The group's configured TTL in ms. */
  readonly ttl: number | undefined;
  /** How long its keys live on without a change, in ms (PTTL). */
  readonly ttlLeft: number | undefined;
  /** The task whose lost lease made the group lost, if it is. */
  readonly lost:
    | { readonly name: string; readonly host: string; readonly pid: number | undefined }
    | undefined;
  /** Its oldest go() tasks, oldest first, at most the limit asked for. */
  readonly tasks: readonly PsTask[];
  /** How many go() tasks hold a lease. */
  readonly taskCount: number;
  /** Units added with add() rather than go(): the counter less the tasks. */
  readonly addedUnits: number;
  /** One line that says why the group's waits have not returned. */
  readonly why: string;
}

/** What `ps` found. */
export interface PsReport {
  /** `host:port` of every server read (a Cluster's masters). */
  readonly servers: readonly string[];
  readonly cluster: boolean;
  readonly prefix: string;
  /** Redis' clock when the report was read, in ms since the epoch. */
  readonly time: number;
  readonly groups: readonly PsGroup[];
  /** Names asked for that no server holds. */
  readonly missing: readonly string[];
}

/** The most leases read per group (its oldest tasks are chosen among them). */
const MAX_LEASES = 1000;

/** globEscape escapes the characters SCAN's MATCH treats as pattern syntax. */
function globEscape(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

function strings(reply: unknown): string[] {
  return Array.isArray(reply) ? reply.map(textOf) : [];
}

/** fieldsOf reads an HGETALL reply, a flat array (RESP2) or a map (RESP3), as a record. */
function fieldsOf(reply: unknown): Record<string, string> {
  const fields: Record<string, string> = {};
  if (reply instanceof Map) {
    for (const [key, value] of reply) fields[textOf(key)] = textOf(value);
  } else if (Array.isArray(reply)) {
    const flat = strings(reply);
    for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i] as string] = flat[i + 1] as string;
  } else if (typeof reply === 'object' && reply !== null) {
    for (const [key, value] of Object.entries(reply)) fields[key] = textOf(value);
  }
  return fields;
}

function numberOr(text: string | undefined, fallback: number | undefined): number | undefined {
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  return Number.isFinite(value) ? value : fallback;
}

/** ownerOf reads a task's record: `{ task, host, pid }`, or the older `{ task, owner: 'host H pid P' }`. */
function ownerOf(json: string | undefined): {
  name: string;
  host: string;
  pid: number | undefined;
} {
  let record: { task?: unknown; host?: unknown; pid?: unknown; owner?: unknown } = {};
  try {
    record = JSON.parse(json ?? '{}') ?? {};
  } catch {
    // A record that is not JSON: name what is known.
  }
  let host = typeof record.host === 'string' ? record.host : undefined;
  let pid = typeof record.pid === 'number' ? record.pid : undefined;
  const owner =
    typeof record.owner === 'string' ? /^host (.*) pid (\d+)$/.exec(record.owner) : null;
  if (owner !== null) {
    host ??= owner[1];
    pid ??= Number(owner[2]);
  }
  return {
    name: record.task === undefined ? 'unnamed task' : String(record.task),
    host: host ?? 'unknown host',
    pid,
  };
}

/** redisTime reads Redis' clock in ms. */
async function redisTime(node: RedisNode): Promise<number> {
  const [seconds = '0', micros = '0'] = strings(await node.command(['TIME']));
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}

/** scanGroups returns the names of the groups whose state key is on `node`. */
async function scanGroups(node: RedisNode, prefix: string): Promise<string[]> {
  const names: string[] = [];
  const pattern = `${globEscape(prefix)}{*}`;
  let cursor = '0';
  do {
    const [next, keys] = (await node.command([
      'SCAN',
      cursor,
      'MATCH',
      pattern,
      'COUNT',
      '1000',
    ])) as [unknown, unknown];
    cursor = textOf(next);
    for (const key of strings(keys)) names.push(key.slice(prefix.length + 1, -1));
  } while (cursor !== '0');
  return names;
}

/** readGroup reads group `name` from `node`, or undefined if `node` holds no such group. */
async function readGroup(
  node: RedisNode,
  prefix: string,
  name: string,
  now: number,
  limit: number,
): Promise<PsGroup | undefined> {
  const key = `${prefix}{${name}}`;
  let state: Record<string, string>;
  try {
    state = fieldsOf(await node.command(['HGETALL', key]));
  } catch (error) {
    // Not a group's state; or, on a Cluster, a key another master serves.
    if (/^(WRONGTYPE|MOVED|ASK)\b/.test(String((error as Error)?.message))) return undefined;
    throw error;
  }
  if (state.epoch === undefined) return undefined;
  const ttlLeft = Number(await node.command(['PTTL', key]));
  const leases = strings(
    await node.command(['ZRANGE', `${key}:leases`, '0', String(MAX_LEASES - 1), 'WITHSCORES']),
  );
  const ids: string[] = [];
  const expiries: number[] = [];
  for (let i = 0; i + 1 < leases.length; i += 2) {
    if (leases[i] === '~') continue; // the marker member some versions keep at +inf
    ids.push(leases[i] as string);
    expiries.push(Number(leases[i + 1]));
  }
  const taskCount = Math.max(
    0,
    Number(await node.command(['ZCARD', `${key}:leases`])) - (leases.includes('~') ? 1 : 0),
  );
  const records =
    ids.length === 0
      ? []
      : strings(
          await node.command([
            'HMGET',
            `${key}:ops`,
            ...ids.flatMap((id) => [`l:${id}`, `s:${id}`]),
          ]),
        );
  const tasks: PsTask[] = ids.map((id, i) => {
    const owner = ownerOf(records[2 * i]);
    const since = numberOr(records[2 * i + 1], undefined);
    const leaseExpiresAt = expiries[i] as number;
    return {
      id,
      ...owner,
      since,
      ageMs: since === undefined ? undefined : Math.max(0, now - since),
      leaseExpiresAt,
      expired: leaseExpiresAt <= now,
    };
  });
  // Oldest first: by start where it is known, else the lease that expires (or expired) first.
  tasks.sort((a, b) => (a.since ?? a.leaseExpiresAt) - (b.since ?? b.leaseExpiresAt));
  const counter = numberOr(state.counter, 0) as number;
  const lost = state.lost === undefined || state.lost === '' ? undefined : ownerOf(state.lost);
  const group = {
    name,
    node: node.address,
    counter,
    waiters: numberOr(state.waiters, 0) as number,
    gen: numberOr(state.gen, 0) as number,
    ttl: numberOr(state.ttl, undefined),
    ttlLeft: ttlLeft >= 0 ? ttlLeft : undefined,
    lost,
    tasks: tasks.slice(0, limit),
    taskCount,
    addedUnits: Math.max(0, counter - taskCount),
  };
  return { ...group, why: why(group, now) };
}

/**
 * inspect reads every group under `prefix` on `nodes` (or only those in
 * `names`), with at most `limit` tasks each.
 */
export async function inspect(
  nodes: readonly RedisNode[],
  cluster: boolean,
  prefix: string,
  names: readonly string[],
  limit: number,
): Promise<PsReport> {
  const [first] = nodes;
  const time = first === undefined ? Date.now() : await redisTime(first);
  const groups: PsGroup[] = [];
  for (const node of nodes) {
    const here = names.length > 0 ? names : await scanGroups(node, prefix);
    for (const name of here) {
      const group = await readGroup(node, prefix, name, time, limit);
      if (group !== undefined) groups.push(group);
    }
  }
  groups.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const found = new Set(groups.map((g) => g.name));
  return {
    servers: nodes.map((node) => node.address),
    cluster,
    prefix,
    time,
    groups,
    missing: names.filter((name) => !found.has(name)),
  };
}

// --- Words ------------------------------------------------------------------

const pad2 = (n: number): string => String(n).padStart(2, '0');

/** duration says `ms` the way a person reads it: 0.4 s, 12 s, 4 m 05 s, 3 h 12 m, 2 d 5 h. */
export function duration(ms: number): string {
  const s = Math.max(0, ms) / 1000;
  if (s < 10) return `${s.toFixed(1)} s`;
  if (s < 60) return `${Math.floor(s)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} m ${pad2(Math.floor(s % 60))} s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h} h ${pad2(m % 60)} m`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/** leaseWords says where a task's lease stands. */
function leaseWords(task: PsTask, now: number): string {
  return task.expired
    ? `lease expired ${duration(now - task.leaseExpiresAt)} ago`
    : `lease live, ${duration(task.leaseExpiresAt - now)} left`;
}

function taskWords(task: PsTask, now: number): string {
  const pid = task.pid === undefined ? '' : ` pid ${task.pid}`;
  const state = task.expired
    ? leaseWords(task, now)
    : task.ageMs === undefined
      ? 'running'
      : `running for ${duration(task.ageMs)}`;
  return `\`${task.name}\` on ${task.host}${pid}, ${state}`;
}

/** WHY_TASKS is how many tasks the why line names before it counts the rest. */
const WHY_TASKS = 3;

/** why says in one line why a group's waits have not returned. */
export function why(group: Omit<PsGroup, 'why'>, now: number): string {
  if (group.lost !== undefined) {
    const pid = group.lost.pid === undefined ? '' : ` pid ${group.lost.pid}`;
    return (
      `lost: \`${group.lost.name}\` on ${group.lost.host}${pid} stopped and its lease expired; ` +
      'every wait() rejects with ERR_WAITGROUP_TASK_LOST'
    );
  }
  if (group.counter === 0) return 'nothing open: the counter is 0, a wait() returns at once';
  const parts = group.tasks.slice(0, WHY_TASKS).map((task) => taskWords(task, now));
  const unnamed = group.taskCount - Math.min(group.tasks.length, WHY_TASKS);
  if (unnamed > 0) parts.push(`${plural(unnamed, 'more go() task')}`);
  if (group.addedUnits > 0) parts.push(`${plural(group.addedUnits, 'unit')} added by add()`);
  const waiting = group.waiters === 0 ? ' (no wait() pending)' : '';
  return `${plural(group.counter, 'unit')} open${waiting}: ${parts.join('; ')}`;
}

/** table lays out rows in columns two spaces apart. */
function table(rows: readonly (readonly string[])[], indent: string): string[] {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length);
    });
  }
  return rows.map(
    (row) =>
      indent +
      row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  '),
  );
}

/** The width of a progress bar, in characters. */
const BAR = 30;

/** progress draws the counter falling from its peak: done units filled. */
export function progress(counter: number, peak: number): string {
  const top = Math.max(peak, counter);
  const done = top - counter;
  const filled = top === 0 ? BAR : Math.round((done / top) * BAR);
  const percent = top === 0 ? 100 : Math.floor((done / top) * 100);
  return `[${'#'.repeat(filled)}${'.'.repeat(BAR - filled)}] ${done}/${top} done (${percent}%)`;
}

/**
 * format renders a report for a person. `peaks` (watch mode) holds the
 * highest counter seen per group, for its progress bar.
 */
export function format(report: PsReport, peaks?: ReadonlyMap<string, number>): string {
  const where = report.cluster
    ? `Redis Cluster, ${plural(report.servers.length, 'master')} (${report.servers.join(', ')})`
    : `Redis ${report.servers.join(', ')}`;
  const lines = [
    `${where}: ${plural(report.groups.length, 'group')} under ${JSON.stringify(report.prefix)}, ` +
      `Redis time ${new Date(report.time).toISOString()}`,
  ];
  for (const group of report.groups) {
    const now = report.time;
    const ttl =
      group.ttlLeft === undefined ? 'no ttl' : `keys expire in ${duration(group.ttlLeft)}`;
    lines.push(
      '',
      `${group.name}  counter ${group.counter}  waiters ${group.waiters}  gen ${group.gen}  ${ttl}` +
        (report.cluster ? `  on ${group.node}` : ''),
    );
    if (peaks !== undefined) lines.push(`  ${progress(group.counter, peaks.get(group.name) ?? 0)}`);
    if (group.tasks.length > 0) {
      const rows = [['TASK', 'HOST', 'PID', 'AGE', 'LEASE']];
      for (const task of group.tasks) {
        rows.push([
          task.name,
          task.host,
          task.pid === undefined ? '-' : String(task.pid),
          task.ageMs === undefined ? '-' : duration(task.ageMs),
          task.expired
            ? `expired ${duration(now - task.leaseExpiresAt)} ago`
            : `live, ${duration(task.leaseExpiresAt - now)} left`,
        ]);
      }
      lines.push(...table(rows, '  '));
      const more = group.taskCount - group.tasks.length;
      if (more > 0) lines.push(`  … and ${plural(more, 'more task')}`);
    }
    lines.push(`  why: ${group.why}`);
  }
  for (const name of report.missing) {
    lines.push(
      '',
      `${name}: not found (expired, deleted, never created, or under another --prefix)`,
    );
  }
  if (report.groups.length === 0 && report.missing.length === 0) {
    lines.push('', `no groups under ${JSON.stringify(report.prefix)}`);
  }
  return `${lines.join('\n')}\n`;
}
