/*
 * GET /v1/events as a device follows it: typed events, one connection after another with
 * Last-Event-ID, an idle timeout that pauses while the caller's handler runs.
 */

import type { IncomingMessage } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import { GatewayApiError, GatewayConnectionError } from './errors';
import { isTransient, jitter } from './retry';
import { SseParser, type ServerSentEvent } from './sse';
import {
  connectionError,
  errorFromResponse,
  headerValue,
  isRecord,
  readBody,
  type Transport,
} from './transport';
import type {
  DispatchPublishedEvent,
  EventStreamOptions,
  FollowEventsOptions,
  HemsEvent,
  SlotOpenedEvent,
  WindowEvent,
} from './types';

const WINDOW_EVENT_TYPES: ReadonlySet<string> = new Set([
  'window-opened',
  'orders-revealed',
  'window-cleared',
  'delivery-reports-closed',
  'window-settled',
  'grid-share-claimed',
]);

/** Wraps an error thrown by the caller's event handler, to tell it apart from stream failures. */
class HandlerFailure extends Error {
  constructor(readonly error: unknown) {
    super('the event handler failed');
  }
}

function isAborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}

function parseEventData(text: string): unknown {
  if (text === '') {
    return null;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** The typed event, or why it is skipped. */
function toHemsEvent(event: ServerSentEvent): HemsEvent | { skipped: string } {
  const id = event.id === '' ? undefined : event.id;
  if (event.type === 'reset') {
    return { type: 'reset', id, data: parseEventData(event.data) };
  }
  if (WINDOW_EVENT_TYPES.has(event.type)) {
    const data = parseEventData(event.data);
    if (!isRecord(data) || typeof data.windowId !== 'string') {
      return { skipped: 'data is not a JSON object with a windowId' };
    }
    return { type: event.type as WindowEvent['type'], id, data: data as WindowEvent['data'] };
  }
  if (event.type !== 'slot-opened' && event.type !== 'dispatch-published') {
    return { skipped: 'unknown event type' };
  }
  const data = parseEventData(event.data);
  if (!isRecord(data) || typeof data.slotId !== 'string') {
    return { skipped: 'data is not a JSON object with a slotId' };
  }
  if (event.type === 'dispatch-published') {
    if (typeof data.lambda !== 'number') {
      return { skipped: 'data has no numeric lambda' };
    }
    return { type: 'dispatch-published', id, data: data as unknown as DispatchPublishedEvent['data'] };
  }
  return { type: 'slot-opened', id, data: data as unknown as SlotOpenedEvent['data'] };
}

/**
 * Follows GET /v1/events: calls `handler` for each slot-opened, dispatch-published and reset
 * event, one at a time (the next waits for the handler's promise). Reconnects after failures and
 * when the stream ends, with Last-Event-ID and growing delays; stops on `signal` and resolves
 * with the last event id seen (to resume from later). Rejects when the handler throws or the
 * gateway refuses the stream (a 4xx other than 429, or an answer that is not an event stream).
 */
export async function followEvents(
  transport: Transport,
  settings: Required<EventStreamOptions>,
  handler: (event: HemsEvent) => void | Promise<void>,
  options: FollowEventsOptions = {},
): Promise<{ lastEventId: string | undefined }> {
  const { signal, onStatus } = options;
  let lastEventId = options.lastEventId === '' ? undefined : options.lastEventId;
  let failures = 0;
  let serverRetryMs: number | undefined;
  while (!isAborted(signal)) {
    let failure: Error;
    try {
      const outcome = await readEventStream(transport, settings, lastEventId, signal, {
        connected: () => {
          failures = 0;
          onStatus?.({ state: 'connected', lastEventId });
        },
        event: async (event) => {
          const typed = toHemsEvent(event);
          if ('skipped' in typed) {
            onStatus?.({ state: 'skipped', eventType: event.type, reason: typed.skipped });
          } else {
            try {
              await handler(typed);
            } catch (error) {
              throw new HandlerFailure(error);
            }
          }
          lastEventId = event.id === '' ? undefined : event.id;
        },
        position: (parser) => {
          lastEventId = parser.lastEventId === '' ? undefined : parser.lastEventId;
          serverRetryMs = parser.retryMs ?? serverRetryMs;
        },
      });
      if (outcome === 'stop') {
        break;
      }
      failure = new GatewayConnectionError('STREAM_ENDED', 'the gateway ended the event stream');
    } catch (error) {
      if (error instanceof HandlerFailure) {
        throw error.error;
      }
      if (isAborted(signal)) {
        break;
      }
      // Reading is safe to repeat: any 5xx is worth a reconnection here, not only transient ones.
      const serverError = error instanceof GatewayApiError && error.statusCode >= 500;
      if (!isTransient(error) && !serverError) {
        throw error;
      }
      failure = error as Error;
    }
    const base = serverRetryMs ?? settings.initialDelayMs;
    const delayMs = jitter(Math.min(settings.maxDelayMs, base * 2 ** Math.min(failures, 20)));
    failures += 1;
    onStatus?.({ state: 'reconnecting', delayMs, error: failure });
    try {
      await delay(delayMs, undefined, signal === undefined ? {} : { signal });
    } catch {
      break;
    }
  }
  return { lastEventId };
}

/** One connection of the event stream; 'stop' when the gateway answered 204 (do not reconnect). */
async function readEventStream(
  transport: Transport,
  settings: Required<EventStreamOptions>,
  lastEventId: string | undefined,
  signal: AbortSignal | undefined,
  on: {
    connected: () => void;
    event: (event: ServerSentEvent) => Promise<void>;
    position: (parser: SseParser) => void;
  },
): Promise<'ended' | 'stop'> {
  const { request, response } = await transport.open('GET', '/v1/events', {
    headers: {
      accept: 'text/event-stream',
      'cache-control': 'no-cache',
      ...(lastEventId === undefined ? {} : { 'last-event-id': lastEventId }),
    },
    signal,
    timeoutMs: settings.idleTimeoutMs,
  });
  const statusCode = response.statusCode ?? 0;
  if (statusCode === 204) {
    response.resume();
    return 'stop';
  }
  if (statusCode !== 200) {
    throw errorFromResponse(statusCode, response.headers, await readBody(response));
  }
  if (!(headerValue(response.headers, 'content-type') ?? '').startsWith('text/event-stream')) {
    response.destroy();
    throw new GatewayApiError(statusCode, 'BAD_RESPONSE', 'the gateway did not answer an event stream');
  }
  // From here the idle timer below is the only timeout: it pauses while the handler runs.
  request.setTimeout(0);
  on.connected();
  return readEvents(response, settings.idleTimeoutMs, lastEventId, on);
}

async function readEvents(
  response: IncomingMessage,
  idleMs: number,
  lastEventId: string | undefined,
  on: { event: (event: ServerSentEvent) => Promise<void>; position: (parser: SseParser) => void },
): Promise<'ended'> {
  const parser = new SseParser({ lastEventId: lastEventId ?? '' });
  let idle: NodeJS.Timeout | undefined;
  const arm = (): void => {
    clearTimeout(idle);
    idle = setTimeout(() => {
      response.destroy(
        new GatewayConnectionError('TIMEOUT', `nothing from the gateway's event stream for ${idleMs} ms`),
      );
    }, idleMs);
  };
  try {
    arm();
    for await (const chunk of response) {
      clearTimeout(idle);
      let events: ServerSentEvent[];
      try {
        events = parser.push(chunk as Buffer);
      } catch (error) {
        throw new GatewayConnectionError('PROTOCOL_ERROR', (error as Error).message, { cause: error });
      }
      for (const event of events) {
        await on.event(event);
      }
      on.position(parser);
      arm();
    }
  } catch (error) {
    throw error instanceof HandlerFailure ? error : connectionError(error);
  } finally {
    clearTimeout(idle);
    response.destroy();
  }
  parser.end();
  on.position(parser);
  return 'ended';
}
