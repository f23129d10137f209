import { routes, type RoutesPlugin } from '../../http/routes';
import { DEFAULT_MAX_EVENT_STREAMS_PER_CALLER } from '../../config';
import { HttpError } from '../../http/errors';
import { formatServerSentEvent, viewOf, type SlotEvent, type SlotEventHub } from '../../services/events';
import { eventsRoute } from './schemas';

export interface EventRoutesOptions {
  /** Undefined when this gateway's ledger has no event stream: the route answers 503. */
  readonly hub: SlotEventHub | undefined;
  /** The gateway's org: HEMS devices are served only by their own utility's gateway. */
  readonly mspId: string;
  /** Comment sent when nothing else was, so proxies and clients keep the stream open. */
  readonly heartbeatMs?: number;
  /** Open streams at most, over all callers. */
  readonly maxSubscribers?: number;
  /** Open streams at most per caller (its verified certificate), so one client cannot take them all. */
  readonly maxStreamsPerCaller?: number;
  /** A client that leaves this many bytes unread is disconnected rather than buffered for. */
  readonly maxPendingBytes?: number;
  /** A device's allowed power in a slot, if in memory: pushed with its dispatch event. */
  readonly allowedKwOf?: (slotId: string, homeId: string) => number | undefined;
}

/**
 * GET /v1/events: server-sent events `slot-opened` and `dispatch-published` for the caller
 * (devices: their bus only) and the auction's public window events. Each event has an id; reconnecting with Last-Event-ID resumes after
 * it, or gets the buffered events and a `reset` event when it is too old to resume from.
 */
export function eventRoutes(options: EventRoutesOptions): RoutesPlugin {
  const heartbeatMs = options.heartbeatMs ?? 15_000;
  const maxSubscribers = options.maxSubscribers ?? 1000;
  const maxPendingBytes = options.maxPendingBytes ?? 1024 * 1024;
  const maxStreamsPerCaller = options.maxStreamsPerCaller ?? DEFAULT_MAX_EVENT_STREAMS_PER_CALLER;
  // Open streams per caller certificate fingerprint; an entry lives only while it has streams.
  const openStreams = new Map<string, number>();
  return routes((app) => {
    app.get('/v1/events', eventsRoute, (request, reply) => {
      const hub = options.hub;
      if (hub === undefined) {
        throw new HttpError(503, 'UNAVAILABLE', 'this gateway does not stream ledger events');
      }
      const caller = request.caller;
      if (caller.role === 'hems' && (caller.mspId !== options.mspId || caller.bus === undefined)) {
        throw new HttpError(403, 'FORBIDDEN', `this gateway serves HEMS devices of ${options.mspId} only`);
      }
      if (hub.subscriberCount >= maxSubscribers) {
        throw new HttpError(503, 'UNAVAILABLE', 'too many open event streams; retry later');
      }
      const callerKey = caller.certificate.fingerprint256;
      const callerStreams = openStreams.get(callerKey) ?? 0;
      if (callerStreams >= maxStreamsPerCaller) {
        throw new HttpError(
          429,
          'TOO_MANY_STREAMS',
          `at most ${maxStreamsPerCaller} open event streams per client certificate; close one before opening another`,
        );
      }
      openStreams.set(callerKey, callerStreams + 1);

      const raw = reply.raw;
      reply.hijack();
      raw.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        // Reverse proxies (nginx) must not buffer the stream.
        'x-accel-buffering': 'no',
      });
      raw.flushHeaders();

      let closed = false;
      let heartbeat: NodeJS.Timeout | undefined;
      let unsubscribe = (): void => undefined;
      const close = (): void => {
        if (closed) {
          return;
        }
        closed = true;
        const left = (openStreams.get(callerKey) ?? 1) - 1;
        if (left > 0) {
          openStreams.set(callerKey, left);
        } else {
          openStreams.delete(callerKey);
        }
        clearInterval(heartbeat);
        unsubscribe();
        raw.end();
      };
      // The response's close: the client went away (the request's close fires once it is read).
      raw.on('close', close);
      const write = (text: string): void => {
        if (closed) {
          return;
        }
        if (raw.writableLength > maxPendingBytes) {
          request.log.warn('event stream client too slow; disconnected');
          close();
          raw.destroy();
          return;
        }
        raw.write(text);
      };
      const send = (event: SlotEvent): void => {
        const homeId = caller.homeId;
        const view = viewOf(
          event,
          caller,
          (slotId) => hub.busesOf(slotId),
          (slotId) => (homeId === undefined ? undefined : options.allowedKwOf?.(slotId, homeId)),
        );
        if (view !== undefined) {
          write(formatServerSentEvent({ id: event.id, type: event.type, data: view }));
        }
      };

      const lastEventId = request.headers['last-event-id'];
      // Replay and subscription happen in the same tick: no event falls between them.
      const { events, reset } = hub.since(typeof lastEventId === 'string' ? lastEventId : undefined);
      if (reset) {
        write(
          formatServerSentEvent({
            type: 'reset',
            data: { reason: 'Last-Event-ID is older than the events kept here; re-read the slots' },
          }),
        );
      }
      events.forEach(send);
      if (!closed) {
        unsubscribe = hub.subscribe({ send, end: close });
        heartbeat = setInterval(() => write(': heartbeat\n\n'), heartbeatMs);
      }
    });
  });
}
