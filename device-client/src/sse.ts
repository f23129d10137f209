/**
 * An incremental parser for the `text/event-stream` format (WHATWG HTML, "Server-sent events"):
 * lines end in CRLF, LF or CR (also split across chunks), `:` lines are comments (heartbeats),
 * `data:` lines accumulate, a blank line dispatches, `id:` persists across events and
 * reconnections, `retry:` sets the reconnection delay, an unterminated event at the end of the
 * stream is discarded. UTF-8 is decoded across chunk boundaries and a leading BOM is dropped.
 *
 * One deliberate difference from browsers: an event that names its type but has no `data:` line
 * (e.g. `event: reset`) is dispatched with empty data rather than dropped.
 */

/** One dispatched event. */
export interface ServerSentEvent {
  /** `event:` field; `message` when absent. */
  readonly type: string;
  /** The `data:` lines joined with `\n`. */
  readonly data: string;
  /** The stream's last event id when this event was dispatched ('' if none). */
  readonly id: string;
}

export interface SseParserOptions {
  /** The last event id from an earlier connection, kept until the stream sets another. */
  readonly lastEventId?: string;
  /** Longest line and largest event accepted, in characters; default 1 MiB. */
  readonly maxLength?: number;
}

/** The stream is not a usable event stream (a line or event beyond the size limit). */
export class SseProtocolError extends Error {
  override readonly name = 'SseProtocolError';
}

const LINE_END = /\r\n|\r|\n/g;

export class SseParser {
  private readonly decoder = new TextDecoder('utf-8');
  private readonly maxLength: number;
  /** Text after the last line end. */
  private pending = '';
  /** The previous chunk ended in CR: a LF starting the next one belongs to that line end. */
  private skipLeadingLf = false;
  private started = false;
  private data: string[] = [];
  private dataLength = 0;
  private eventType = '';
  private idBuffer: string;
  private committedId: string;
  private retry: number | undefined;

  constructor(options: SseParserOptions = {}) {
    this.committedId = options.lastEventId ?? '';
    this.idBuffer = this.committedId;
    this.maxLength = options.maxLength ?? 1024 * 1024;
  }

  /** The last event id as of the last completed event block: what `Last-Event-ID` should carry. */
  get lastEventId(): string {
    return this.committedId;
  }

  /** The reconnection delay the server asked for with `retry:`, in ms. */
  get retryMs(): number | undefined {
    return this.retry;
  }

  /** Feeds bytes (or text) of the stream; returns the events completed by them, in order. */
  push(chunk: Uint8Array | string): ServerSentEvent[] {
    let text = typeof chunk === 'string' ? chunk : this.decoder.decode(chunk, { stream: true });
    if (!this.started && text.length > 0) {
      this.started = true;
      if (text.startsWith('\uFEFF')) {
        text = text.slice(1);
      }
    }
    if (this.skipLeadingLf && text.length > 0) {
      this.skipLeadingLf = false;
      if (text.startsWith('\n')) {
        text = text.slice(1);
      }
    }
    const buffer = this.pending + text;
    const events: ServerSentEvent[] = [];
    let start = 0;
    LINE_END.lastIndex = 0;
    for (let match = LINE_END.exec(buffer); match !== null; match = LINE_END.exec(buffer)) {
      if (match[0] === '\r' && match.index === buffer.length - 1) {
        this.skipLeadingLf = true;
      }
      const event = this.line(buffer.slice(start, match.index));
      if (event !== undefined) {
        events.push(event);
      }
      start = match.index + match[0].length;
    }
    this.pending = buffer.slice(start);
    if (this.pending.length > this.maxLength) {
      throw new SseProtocolError(`an event-stream line exceeds ${this.maxLength} characters`);
    }
    return events;
  }

  /** The stream ended: an unterminated event is discarded (as the standard requires). */
  end(): void {
    this.pending = '';
    this.skipLeadingLf = false;
    this.resetEvent();
    this.idBuffer = this.committedId;
  }

  private line(line: string): ServerSentEvent | undefined {
    if (line === '') {
      return this.dispatch();
    }
    if (line.startsWith(':')) {
      return undefined;
    }
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) {
      value = value.slice(1);
    }
    switch (field) {
      case 'data':
        this.dataLength += value.length + 1;
        if (this.dataLength > this.maxLength) {
          throw new SseProtocolError(`an event's data exceeds ${this.maxLength} characters`);
        }
        this.data.push(value);
        break;
      case 'event':
        this.eventType = value;
        break;
      case 'id':
        if (!value.includes('\0')) {
          this.idBuffer = value;
        }
        break;
      case 'retry':
        if (/^\d{1,9}$/.test(value)) {
          this.retry = Number(value);
        }
        break;
      default:
        // Unknown fields are ignored.
        break;
    }
    return undefined;
  }

  private dispatch(): ServerSentEvent | undefined {
    this.committedId = this.idBuffer;
    const hasData = this.data.length > 0;
    const event: ServerSentEvent | undefined =
      hasData || this.eventType !== ''
        ? {
            type: this.eventType === '' ? 'message' : this.eventType,
            data: this.data.join('\n'),
            id: this.committedId,
          }
        : undefined;
    this.resetEvent();
    return event;
  }

  private resetEvent(): void {
    this.data = [];
    this.dataLength = 0;
    this.eventType = '';
  }
}
