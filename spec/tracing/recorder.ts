/**
 * A subscriber for the tracing specs: it records every event of the
 * awaitgroup channels, with a copy of the context as it was at that event
 * and the AsyncLocalStorage store active when the event fired.
 *
 * @module
 */

import type { AsyncLocalStorage } from 'node:async_hooks';
import diagnostics from 'node:diagnostics_channel';

/** The five events of a TracingChannel, in the order tracePromise can publish them. */
export type TraceEvent = 'start' | 'end' | 'asyncStart' | 'asyncEnd' | 'error';

/** One recorded event. */
export interface Recorded {
  readonly channel: 'task' | 'wait';
  readonly event: TraceEvent;
  /** The context object itself (the same object for every event of one trace). */
  readonly context: Record<string, unknown>;
  /** A copy of the context's own fields when the event fired. */
  readonly fields: Readonly<Record<string, unknown>>;
  /** The store of the recorder's AsyncLocalStorage when the event fired. */
  readonly store: unknown;
}

/** An abort message, as published. */
export interface AbortRecorded {
  readonly message: Record<string, unknown>;
  /** Whether the group's queue was empty when the message was published. */
  readonly queued: number | undefined;
}

/** A recorder and its subscriptions. */
export interface Recorder {
  readonly events: Recorded[];
  readonly aborts: AbortRecorded[];
  /** The events of one channel, as `event` names. */
  names(channel: 'task' | 'wait'): TraceEvent[];
  /** The distinct contexts of one channel, in the order their traces started. */
  contexts(channel: 'task' | 'wait'): Record<string, unknown>[];
  stop(): void;
}

export const taskChannel = diagnostics.tracingChannel('awaitgroup:task');
export const waitChannel = diagnostics.tracingChannel('awaitgroup:wait');
export const ABORT = 'awaitgroup:errgroup:abort';

const EVENTS: readonly TraceEvent[] = ['start', 'end', 'asyncStart', 'asyncEnd', 'error'];

/**
 * record subscribes to the task and wait channels and to the abort channel,
 * and records what they publish until `stop()`.
 */
export function record(als?: AsyncLocalStorage<unknown>): Recorder {
  const events: Recorded[] = [];
  const aborts: AbortRecorded[] = [];
  const handlers = (channel: 'task' | 'wait') =>
    Object.fromEntries(
      EVENTS.map((event) => [
        event,
        (context: Record<string, unknown>) => {
          events.push({ channel, event, context, fields: { ...context }, store: als?.getStore() });
        },
      ]),
    ) as unknown as diagnostics.TracingChannelSubscribers<object>;
  const task = handlers('task');
  const wait = handlers('wait');
  const onAbort = (message: unknown): void => {
    const group = (message as { group: { queued?: number } }).group;
    aborts.push({ message: message as Record<string, unknown>, queued: group.queued });
  };
  taskChannel.subscribe(task);
  waitChannel.subscribe(wait);
  diagnostics.subscribe(ABORT, onAbort);
  return {
    events,
    aborts,
    names: (channel) => events.filter((e) => e.channel === channel).map((e) => e.event),
    contexts: (channel) => [
      ...new Set(events.filter((e) => e.channel === channel).map((e) => e.context)),
    ],
    stop() {
      taskChannel.unsubscribe(task);
      waitChannel.unsubscribe(wait);
      diagnostics.unsubscribe(ABORT, onAbort);
    },
  };
}
