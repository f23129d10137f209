import { toHttpError } from '../http/errors';
import { decodeJson, readerIdentity } from '../ledger/answers';
import { dr } from '../ledger/contracts';
import type { Ledger } from '../ledger/ports';

/**
 * A home's demand-response results as the VTN reports them to its VEN: for each recent event, its
 * baseline and metered energy per event interval, computed by dr:GetMyReward on the utility's own
 * peer from the home's certificate (the VEN's, as for its dispatch). Nothing here is public: the
 * values reach only that VEN, and never a log or a refusal.
 */

/** When and how long an event is: its UTC date and its 15-minute intervals [start, end) of the day. */
export interface DrEventTimes {
  readonly eventId: string;
  readonly date: string;
  readonly start: number;
  readonly declaredAt?: string;
}

/** A home's result of one event: Wh per event interval, the baseline and the metered energy. */
export interface DrHomeResult {
  readonly event: DrEventTimes;
  readonly baselineWh: readonly number[];
  readonly meteredWh: readonly number[];
}

/** The home a result is read for: the VEN's home certificate (PEM) is what the chaincode reads. */
export interface DrHome {
  readonly homeId: string;
  readonly certificatePem: string;
}

/** Where the VTN reads a home's results (the ledger; a fake in tests). */
export interface DrResults {
  /** The home's results of the most recent events, newest first, at most `wanted`. */
  recent(home: DrHome, wanted: number): Promise<DrHomeResult[]>;
  /** The home's result of one event; undefined when it has none (or the event does not exist). */
  one(home: DrHome, eventId: string): Promise<DrHomeResult | undefined>;
}

/** Events per ListEvents page, and results a listing reads at most. */
export const LISTED_DR_EVENTS = 100;
export const MAX_DR_RESULTS = 20;
/** Pages of LISTED_DR_EVENTS events read per listing: bounds a VEN's poll. */
const MAX_LISTED_PAGES = 20;
/** Final results (paid) kept in memory; the oldest go first. */
const MAX_CACHED_RESULTS = 10_000;

const DATE = /^\d{4}-\d{2}-\d{2}$/;

function isWhList(value: unknown): value is number[] {
  return Array.isArray(value) && value.every((wh) => Number.isSafeInteger(wh) && (wh as number) >= 0);
}

/**
 * The event's times from its public record (as ListEvents lists it, or GetEvent's `event`);
 * undefined when the record lacks them.
 */
function timesOf(view: unknown): DrEventTimes | undefined {
  const outer = (view ?? {}) as Record<string, unknown>;
  const event = (typeof outer.event === 'object' && outer.event !== null ? outer.event : outer) as Record<
    string,
    unknown
  >;
  if (
    typeof event.eventId !== 'string' ||
    typeof event.date !== 'string' ||
    !DATE.test(event.date) ||
    !Number.isInteger(event.start)
  ) {
    return undefined;
  }
  return {
    eventId: event.eventId,
    date: event.date,
    start: event.start as number,
    ...(typeof event.declaredAt === 'string' ? { declaredAt: event.declaredAt } : {}),
  };
}

/** A refusal of the chaincode (the home has no result there), as opposed to a failure of the ledger. */
function isRefusal(error: unknown): boolean {
  return toHttpError(error).statusCode < 500;
}

/**
 * The home's results from the ledger: ListEvents and GetEvent with the gateway's reader identity,
 * GetMyReward as the relay on the utility's own peer with the home's certificate in transient
 * data. A result marked paid is final and kept in memory.
 */
export class LedgerDrResults implements DrResults {
  private readonly final = new Map<string, DrHomeResult>();

  constructor(private readonly ledger: Ledger) {}

  async recent(home: DrHome, wanted: number): Promise<DrHomeResult[]> {
    const events = (await this.allEvents())
      .map(timesOf)
      .filter((times): times is DrEventTimes => times !== undefined)
      .sort((a, b) => b.date.localeCompare(a.date) || b.start - a.start || b.eventId.localeCompare(a.eventId))
      .slice(0, Math.min(wanted, MAX_DR_RESULTS));
    const results = await Promise.all(events.map((event) => this.resultOf(home, event)));
    return results.filter((result): result is DrHomeResult => result !== undefined);
  }

  /**
   * Every event, page by page (events are listed in id order, not by date, so the newest can be on
   * any page), up to MAX_LISTED_PAGES pages.
   */
  private async allEvents(): Promise<unknown[]> {
    const events: unknown[] = [];
    let bookmark = '';
    for (let page = 0; page < MAX_LISTED_PAGES; page += 1) {
      const answer = decodeJson<{ events?: unknown; bookmark?: unknown } | null>(
        await dr(this.ledger, readerIdentity(this.ledger)).ListEvents.evaluate({
          arguments: [String(LISTED_DR_EVENTS), bookmark],
        }),
      );
      const listed: unknown[] = Array.isArray(answer?.events) ? (answer.events as unknown[]) : [];
      events.push(...listed);
      bookmark = typeof answer?.bookmark === 'string' ? answer.bookmark : '';
      if (bookmark === '' || listed.length < LISTED_DR_EVENTS) {
        break;
      }
    }
    return events;
  }

  async one(home: DrHome, eventId: string): Promise<DrHomeResult | undefined> {
    const cached = this.final.get(cacheKey(home, eventId));
    if (cached !== undefined) {
      return cached;
    }
    let view: unknown;
    try {
      view = decodeJson(
        await dr(this.ledger, readerIdentity(this.ledger)).GetEvent.evaluate({ arguments: [eventId] }),
      );
    } catch (error) {
      if (isRefusal(error)) {
        return undefined;
      }
      throw error;
    }
    const times = timesOf(view);
    return times === undefined ? undefined : this.resultOf(home, times);
  }

  private async resultOf(home: DrHome, event: DrEventTimes): Promise<DrHomeResult | undefined> {
    const key = cacheKey(home, event.eventId);
    const cached = this.final.get(key);
    if (cached !== undefined) {
      return cached;
    }
    let answer: { baselineWh?: unknown; meteredWh?: unknown; paid?: unknown } | null;
    try {
      answer = decodeJson(
        await dr(this.ledger, 'relay').GetMyReward.evaluate({
          arguments: [event.eventId],
          transientData: { certificate: Buffer.from(home.certificatePem, 'utf8') },
          endorsingOrganizations: [this.ledger.mspId],
        }),
      );
    } catch (error) {
      if (isRefusal(error)) {
        return undefined;
      }
      throw error;
    }
    const { baselineWh, meteredWh } = answer ?? {};
    if (!isWhList(baselineWh) || !isWhList(meteredWh) || baselineWh.length !== meteredWh.length) {
      return undefined;
    }
    const result = { event, baselineWh, meteredWh };
    if (answer?.paid === true) {
      this.keep(key, result);
    }
    return result;
  }

  private keep(key: string, result: DrHomeResult): void {
    this.final.set(key, result);
    // Maps iterate in insertion order: the first entry is the oldest.
    for (const oldest of this.final.keys()) {
      if (this.final.size <= MAX_CACHED_RESULTS) {
        break;
      }
      this.final.delete(oldest);
    }
  }
}

/** A result is the home's, whichever of its certificates read it. */
function cacheKey(home: DrHome, eventId: string): string {
  return `${eventId}\u0000${home.homeId}`;
}
