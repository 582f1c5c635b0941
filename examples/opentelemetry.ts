/**
 * opentelemetry: OpenTelemetry spans for every go() task and every wait()
 * of awaitgroup's groups, made from the library's diagnostics_channel
 * events, with no change to the code that uses the groups.
 *
 *   npm run build && node dist/examples/opentelemetry.js
 *
 * `instrument()` is the whole integration: a span per task, the child of
 * the span that was active at its `go()` and itself active inside the task
 * (so the task's own spans are its children); a span per wait; a failed
 * task's span has status error and the exception. Running it prints the
 * span tree of a request that fans out with a WaitGroup and with an
 * ErrGroup whose limit is 2 and one of whose tasks fails.
 *
 * A RedisWaitGroup's tasks run in other processes: put `traceparentOf()` in
 * each job's data where it is queued, and run the job's `go()` inside
 * `context.with(contextOf(job.traceparent), ...)` where it is taken: the
 * task's span is then the child of the span that queued the job.
 *
 * @module
 */

import type { AsyncLocalStorage } from 'node:async_hooks';
import diagnostics from 'node:diagnostics_channel';
import { fileURLToPath } from 'node:url';
import {
  type Context,
  context,
  ROOT_CONTEXT,
  type Span,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { ErrGroup, type TaskTraceContext, WaitGroup, type WaitTraceContext } from 'awaitgroup';

type TraceContext = Partial<TaskTraceContext> & WaitTraceContext;

/**
 * contextStorage returns the AsyncLocalStorage in which the context manager
 * keeps the active context, so that a channel can make a span active with
 * `bindStore`. (The manager does not export it; the test of this example
 * fails if a new version moves it.)
 */
export function contextStorage(
  manager: AsyncLocalStorageContextManager,
): AsyncLocalStorage<Context> {
  const storage = (manager as unknown as { _asyncLocalStorage?: AsyncLocalStorage<Context> })
    ._asyncLocalStorage;
  if (typeof storage?.run !== 'function') {
    throw new Error('AsyncLocalStorageContextManager keeps its storage elsewhere now');
  }
  return storage;
}

/** spans makes a span for every trace on `channel` (what: 'task' or 'wait'); returns how to stop. */
function spans(
  channel: diagnostics.TracingChannel<Context, TraceContext>,
  what: string,
  tracer: Tracer,
  storage: AsyncLocalStorage<Context>,
): () => void {
  const open = new WeakMap<object, Span>();
  // Runs when the trace starts, in the caller's context: the span's parent is the active span,
  // and the task runs with the returned context, in which its own span is the active one.
  channel.start.bindStore(storage, (message) => {
    const parent = context.active();
    const span = tracer.startSpan(
      message.name === undefined
        ? `${message.kind} ${what}`
        : `${message.kind} ${what} ${message.name}`,
      {
        // Microseconds, not the SDK's default milliseconds: the tree orders siblings by start.
        startTime: performance.timeOrigin + performance.now(),
        attributes: {
          'awaitgroup.kind': message.kind,
          ...(message.name === undefined ? {} : { 'awaitgroup.task.name': message.name }),
          ...(message.queuedMs === undefined
            ? {}
            : { 'awaitgroup.task.queued_ms': message.queuedMs }),
        },
      },
      parent,
    );
    open.set(message, span);
    return trace.setSpan(parent, span);
  });
  const finish = (message: object): void => {
    open.get(message)?.end();
    open.delete(message);
  };
  const handlers: diagnostics.TracingChannelSubscribers<TraceContext> = {
    start() {},
    asyncStart() {},
    error(message) {
      const span = open.get(message);
      const { error } = message;
      span?.recordException(error instanceof Error ? error : String(error));
      span?.setStatus({
        code: SpanStatusCode.ERROR,
        message: error instanceof Error ? error.message : String(error),
      });
    },
    // A task that threw synchronously publishes error before end, and no asyncEnd.
    end(message) {
      if ('error' in message) finish(message);
    },
    asyncEnd: finish,
  };
  channel.subscribe(handlers);
  return () => {
    channel.unsubscribe(handlers);
    channel.start.unbindStore(storage);
  };
}

/**
 * instrument makes spans with `tracer` for awaitgroup's tasks and waits, in
 * the context that `storage` holds (see {@link contextStorage}), and
 * returns a function that stops.
 */
export function instrument(tracer: Tracer, storage: AsyncLocalStorage<Context>): () => void {
  const stops = ['task', 'wait'].map((what) =>
    spans(
      diagnostics.tracingChannel<Context, TraceContext>(`awaitgroup:${what}`),
      what,
      tracer,
      storage,
    ),
  );
  return () => {
    for (const stop of stops) stop();
  };
}

const w3c = new W3CTraceContextPropagator();

/** traceparentOf returns the W3C `traceparent` of the span active in `ctx`, to put in a job's data. */
export function traceparentOf(ctx: Context = context.active()): string | undefined {
  const carrier: Record<string, string> = {};
  w3c.inject(ctx, carrier, {
    set: (target, key, value) => {
      target[key] = value;
    },
  });
  return carrier.traceparent;
}

/** contextOf returns a context whose active span is the remote one that `traceparent` names. */
export function contextOf(traceparent: string | undefined): Context {
  if (traceparent === undefined) return ROOT_CONTEXT;
  return w3c.extract(
    ROOT_CONTEXT,
    { traceparent },
    {
      get: (carrier, key) => carrier[key as 'traceparent'],
      keys: (carrier) => Object.keys(carrier),
    },
  );
}

/** tree renders finished spans as an indented tree, children in the order they started. */
export function tree(finished: readonly ReadableSpan[]): string {
  const children = new Map<string | undefined, ReadableSpan[]>();
  const ids = new Set(finished.map((span) => span.spanContext().spanId));
  for (const span of finished) {
    const parent = span.parentSpanContext?.spanId;
    const key = parent !== undefined && ids.has(parent) ? parent : undefined;
    children.set(key, [...(children.get(key) ?? []), span]);
  }
  const lines: string[] = [];
  const walk = (parent: string | undefined, depth: number): void => {
    const spans = [...(children.get(parent) ?? [])].sort(
      (a, b) => a.startTime[0] - b.startTime[0] || a.startTime[1] - b.startTime[1],
    );
    for (const span of spans) {
      const status =
        span.status.code === SpanStatusCode.ERROR ? ` [error: ${span.status.message}]` : '';
      lines.push(`${'  '.repeat(depth)}${span.name}${status}`);
      walk(span.spanContext().spanId, depth + 1);
    }
  };
  walk(undefined, 0);
  return lines.join('\n');
}

/** A task that takes a turn of the event loop. */
const later = <T>(value: T): Promise<T> =>
  new Promise((resolve) => setImmediate(() => resolve(value)));

async function main(): Promise<void> {
  const manager = new AsyncLocalStorageContextManager();
  context.setGlobalContextManager(manager);
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  trace.setGlobalTracerProvider(provider);
  const tracer = trace.getTracer('example');
  const stop = instrument(tracer, contextStorage(manager));

  await tracer.startActiveSpan('GET /orders/42', async (request) => {
    const wg = new WaitGroup();
    wg.go(() => later('user'), { name: 'load user' });
    wg.go(
      async () => {
        // Inside a task, its span is the active one: this task's tasks are its children.
        const lines = new WaitGroup();
        for (const line of ['line 1', 'line 2']) lines.go(() => later(line), { name: line });
        await lines.wait();
      },
      { name: 'load order' },
    );
    await wg.wait();

    const eg = new ErrGroup({ limit: 2 });
    for (const size of [64, 128, 256]) {
      eg.go(async () => {
        await later(size);
        if (size === 256) throw new Error(`cannot resize to ${size}`);
      });
    }
    await eg.wait().catch(() => {});
    request.end();
  });

  stop();
  console.log(tree(exporter.getFinishedSpans()));
  await provider.shutdown();
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
