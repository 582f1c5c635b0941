/**
 * T3: the span tree that examples/opentelemetry.ts makes from the channels,
 * with the OpenTelemetry SDK and an in-memory exporter. (Across two
 * processes with a RedisWaitGroup: spec/redis/opentelemetry.redis.ts.)
 */

import { context, type Span, SpanStatusCode, type Tracer } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { expect } from 'chai';
import { contextStorage, instrument, tree } from '../../examples/opentelemetry.js';
import { ErrGroup, WaitGroup } from '../../lib/index.js';
import { deferred, expectRejection } from '../helpers/async.js';

describe('T3 OpenTelemetry spans from the channels (examples/opentelemetry.ts)', () => {
  const manager = new AsyncLocalStorageContextManager();
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  let tracer: Tracer;
  let stop: () => void;

  before(() => {
    expect(context.setGlobalContextManager(manager)).to.equal(true);
    tracer = provider.getTracer('spec');
    stop = instrument(tracer, contextStorage(manager));
  });
  after(async () => {
    stop();
    context.disable();
    await provider.shutdown();
  });
  afterEach(() => {
    exporter.reset();
  });

  /** within runs `fn` with a new span of that name active, and ends the span when fn settles. */
  const within = <T>(name: string, fn: (span: Span) => Promise<T>): Promise<T> =>
    tracer.startActiveSpan(name, (span) => fn(span).finally(() => span.end()));
  const finished = (): ReadableSpan[] => exporter.getFinishedSpans();
  const named = (name: string): ReadableSpan => {
    const span = finished().find((s) => s.name === name);
    expect(span, `a span named ${name} in\n${tree(finished())}`).to.not.equal(undefined);
    return span as ReadableSpan;
  };
  const parentOf = (span: ReadableSpan): string | undefined => span.parentSpanContext?.spanId;
  const idOf = (span: ReadableSpan): string => span.spanContext().spanId;
  /** endedBefore: `a` ended before `b` (the exporter receives spans as they end). */
  const endedBefore = (a: ReadableSpan, b: ReadableSpan): boolean =>
    finished().indexOf(a) < finished().indexOf(b);

  it('a local group: each task span is the child of the span active at its go()', async () => {
    const wg = new WaitGroup();
    const gate = deferred();
    await within('request', async () => {
      await within('load', async () => {
        wg.go(() => gate.promise.then(() => 'user'), { name: 'user' });
        wg.go(() => gate.promise.then(() => 'order'), { name: 'order' });
      });
      await within('audit', async () => {
        wg.go(() => gate.promise.then(() => 'log'), { name: 'log' });
      });
      await within('waiter', () => {
        const waiting = wg.wait();
        gate.resolve();
        return waiting;
      });
    });
    expect(tree(finished())).to.equal(
      [
        'request',
        '  load',
        '    WaitGroup task user',
        '    WaitGroup task order',
        '  audit',
        '    WaitGroup task log',
        '  waiter',
        '    WaitGroup wait',
      ].join('\n'),
    );
    const request = named('request');
    for (const span of finished())
      expect(span.spanContext().traceId).to.equal(request.spanContext().traceId);
    expect(parentOf(named('WaitGroup task user'))).to.equal(idOf(named('load')));
    expect(parentOf(named('WaitGroup task log'))).to.equal(idOf(named('audit')));
    expect(named('WaitGroup task user').attributes).to.deep.equal({
      'awaitgroup.kind': 'WaitGroup',
      'awaitgroup.task.name': 'user',
      'awaitgroup.task.queued_ms': 0,
    });
    expect(named('WaitGroup wait').attributes).to.deep.equal({ 'awaitgroup.kind': 'WaitGroup' });
  });

  it("inside a task its span is active: the task's own spans and tasks are its children", async () => {
    const wg = new WaitGroup();
    await within('request', async () => {
      wg.go(
        async () => {
          await within('query', async () => undefined);
          const inner = new WaitGroup();
          inner.go(async () => undefined, { name: 'line' });
          await inner.wait();
        },
        { name: 'order' },
      );
      await wg.wait();
    });
    const order = named('WaitGroup task order');
    expect(parentOf(named('query'))).to.equal(idOf(order));
    expect(parentOf(named('WaitGroup task line'))).to.equal(idOf(order));
    const waits = finished().filter((s) => s.name === 'WaitGroup wait');
    expect(waits.map(parentOf)).to.deep.equal([idOf(order), idOf(named('request'))]);
  });

  it('a failed task: status error, the exception recorded; a sync throw the same', async () => {
    const wg = new WaitGroup();
    const failure = new Error('no such order');
    await within('request', async () => {
      await expectRejection(wg.go(() => Promise.reject(failure), { name: 'rejects' }));
      await expectRejection(
        wg.go(
          () => {
            throw new TypeError('bad input');
          },
          { name: 'throws' },
        ),
      );
    });
    for (const [name, message, type] of [
      ['WaitGroup task rejects', 'no such order', 'Error'],
      ['WaitGroup task throws', 'bad input', 'TypeError'],
    ] as const) {
      const span = named(name);
      expect(span.status).to.deep.equal({ code: SpanStatusCode.ERROR, message });
      expect(span.events.map((e) => e.name)).to.deep.equal(['exception']);
      expect(span.events[0]?.attributes).to.include({
        'exception.message': message,
        'exception.type': type,
      });
      expect(parentOf(span)).to.equal(idOf(named('request')));
    }
  });

  it('a wait span covers its tasks: it ends after every task span', async () => {
    const wg = new WaitGroup();
    const tasks = [deferred(), deferred(), deferred()];
    await within('request', async () => {
      tasks.forEach((task, i) => {
        wg.go(() => task.promise, { name: `t${i}` });
      });
      const waiting = wg.wait();
      for (const task of [...tasks].reverse()) task.resolve();
      await waiting;
    });
    const wait = named('WaitGroup wait');
    for (const i of [0, 1, 2])
      expect(endedBefore(named(`WaitGroup task t${i}`), wait)).to.equal(true);
    expect(wait.status.code).to.equal(SpanStatusCode.UNSET);
  });

  it('an ErrGroup with a limit: every task span under the span of go(), the failure an error, the dropped none, the wait after all', async () => {
    const eg = new ErrGroup({ limit: 2 });
    const failure = new Error('resize failed');
    const gates = [deferred(), deferred(), deferred()];
    await within('batch', async () => {
      gates.forEach((gate) => {
        eg.go(() => gate.promise);
      });
      const dropped = eg.go(() => 'never');
      const waiting = eg.wait();
      gates[0]?.resolve(); // the third task starts in its slot
      await new Promise((resolve) => setImmediate(resolve));
      gates[1]?.reject(failure); // the fourth is dropped
      gates[2]?.resolve();
      expect(await expectRejection(dropped)).to.equal(failure);
      expect(await expectRejection(waiting)).to.equal(failure);
    });
    const batch = named('batch');
    const tasks = finished().filter((s) => s.name === 'ErrGroup task');
    expect(tasks).to.have.length(3);
    for (const span of tasks) {
      expect(parentOf(span)).to.equal(idOf(batch));
      expect(span.attributes['awaitgroup.kind']).to.equal('ErrGroup');
      expect(span.attributes['awaitgroup.task.queued_ms']).to.be.a('number').and.at.least(0);
    }
    expect(tasks.map((s) => s.status.code).sort()).to.deep.equal(
      [SpanStatusCode.UNSET, SpanStatusCode.UNSET, SpanStatusCode.ERROR].sort(),
    );
    const wait = named('ErrGroup wait');
    expect(parentOf(wait)).to.equal(idOf(batch));
    expect(wait.status).to.deep.equal({ code: SpanStatusCode.ERROR, message: 'resize failed' });
    for (const span of tasks) expect(endedBefore(span, wait)).to.equal(true);
    expect(finished().filter((s) => s.name === 'WaitGroup wait')).to.deep.equal([]);
  });

  it('an ErrGroup with a limit: a queued task span is the child of the span active at its go() ', async () => {
    exporter.reset(); // the probe's own spans
    const eg = new ErrGroup({ limit: 1 });
    await within('batch', async () => {
      for (const item of ['a', 'b', 'c']) {
        await within(`item ${item}`, async () => {
          eg.go(() => new Promise((resolve) => setImmediate(resolve)));
        });
      }
      await eg.wait();
    });
    const tasks = finished().filter((s) => s.name === 'ErrGroup task');
    expect(tasks.map((s) => parentOf(s))).to.have.members(
      ['a', 'b', 'c'].map((item) => idOf(named(`item ${item}`))),
    );
  });
});
