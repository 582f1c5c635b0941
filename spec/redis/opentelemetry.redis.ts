/**
 * T3 across processes: a RedisWaitGroup whose jobs carry the W3C
 * `traceparent` of the span that queued them, taken by two worker
 * processes; each task's span, made in its worker, is the child of that
 * span, in the same trace, and the waiter's span covers both.
 */

import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { context, type Span, SpanStatusCode } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { expect } from 'chai';
import { contextStorage, instrument, traceparentOf } from '../../examples/opentelemetry.js';
import { RedisWaitGroup } from '../../lib/redis/index.js';
import { collect } from '../helpers/child.js';
import { type Connected, connect, type Target } from './support/clients.js';
import { label, targetOf, uniqueName } from './support/env.js';
import { until } from './support/members.js';

interface WorkerSpan {
  readonly name: string;
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string | undefined;
  readonly error: string | undefined;
  readonly exceptions: number;
}

describe(`T3 OpenTelemetry across two processes (${label('node-redis', false)})`, function () {
  this.timeout(60_000);
  const manager = new AsyncLocalStorageContextManager();
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  let stop: () => void;
  let target: Target;
  let connected: Connected;

  before(async function () {
    this.timeout(60_000);
    target = await targetOf('node-redis', false);
    context.setGlobalContextManager(manager);
    stop = instrument(provider.getTracer('queue'), contextStorage(manager));
  });
  beforeEach(async () => {
    connected = await connect(target);
  });
  afterEach(async () => {
    await connected.close();
  });
  after(async () => {
    stop();
    context.disable();
    await provider.shutdown();
  });

  /** work runs one job in a worker process and resolves with the spans it made. */
  async function work(job: object): Promise<WorkerSpan[]> {
    const file = fileURLToPath(new URL('../tracing/fixtures/redis-worker.js', import.meta.url));
    const outcome = await collect(
      spawn(
        process.execPath,
        ['--enable-source-maps', '--unhandled-rejections=strict', file, JSON.stringify(job)],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      ),
      30_000,
    );
    const shown = `stdout:\n${outcome.stdout}\nstderr:\n${outcome.stderr}`;
    expect(outcome.code, shown).to.equal(0);
    return JSON.parse(outcome.stdout) as WorkerSpan[];
  }

  it("each worker's task span is the child of the span that queued its job; a failed one is an error; the wait covers both", async () => {
    const tracer = provider.getTracer('queue');
    const wg = await RedisWaitGroup.create(connected.client as never, uniqueName('otel'));
    const results = await tracer.startActiveSpan('batch', async (batch: Span) => {
      await wg.add(2);
      const jobs = ['resize 17', 'resize 18'].map((name, i) =>
        tracer.startActiveSpan(`enqueue ${name}`, (enqueue: Span) => {
          const job = {
            target,
            handle: wg.handle,
            traceparent: traceparentOf(),
            name,
            fail: i === 1,
          };
          enqueue.end();
          return job;
        }),
      );
      const waiting = wg.wait();
      await until(async () => (await wg.state()).waiters === 1, 'the wait is registered');
      const spans = await Promise.all(jobs.map(work));
      await waiting;
      batch.end();
      return spans;
    });
    const local = exporter.getFinishedSpans();
    const byName = (name: string) => local.find((span) => span.name === name);
    const batch = byName('batch');
    const wait = byName('RedisWaitGroup wait');
    expect(wait?.parentSpanContext?.spanId).to.equal(batch?.spanContext().spanId);
    for (const [i, name] of ['resize 17', 'resize 18'].entries()) {
      const enqueue = byName(`enqueue ${name}`);
      const spans = results[i] ?? [];
      expect(spans.map((s) => s.name)).to.deep.equal([`RedisWaitGroup task ${name}`]);
      const [task] = spans;
      expect(task?.traceId).to.equal(batch?.spanContext().traceId);
      expect(task?.parentSpanId).to.equal(enqueue?.spanContext().spanId);
      expect(task?.error).to.equal(i === 1 ? `${name} failed` : undefined);
      expect(task?.exceptions).to.equal(i === 1 ? 1 : 0);
    }
    // The wait could end only once both jobs were counted done, which each worker
    // does after its task (and so its task's span) has ended.
    expect(wait?.status.code).to.equal(SpanStatusCode.UNSET);
    expect(local.indexOf(wait as never)).to.be.below(local.indexOf(batch as never));
  });
});
