import { randomBytes } from 'node:crypto';
import type { SlotView } from '@hems/protocol';
import type { AllowedPowerBook } from '../services/allowed-powers';
import type { ConsumptionBatcher } from '../services/consumption-batcher';
import type { ForecastBatcher } from '../services/forecast-batcher';
import type { VenRecord } from '../services/ven-registry';
import type { VtnClient } from './auth/clients';
import type { DrResults } from './dr-results';
import { parseDerivedId } from './object-ids';
import { badRequest, forbidden, notFound } from './problem';
import { aggregateReportOf, dispatchEventOf, drResultReportOf, priceEventOf, PROGRAM_ID } from './render';
import type { SlotDirectory } from './slot-directory';
import type { OpenAdrVersion } from './versions';

type Json = Record<string, unknown>;

/** Objects a VEN created on this gateway instance (reports, subscriptions), by id. */
export interface OwnedObject {
  readonly owner: string;
  readonly object: Json;
}

export interface VtnServiceOptions {
  readonly org: string;
  readonly slots: SlotDirectory;
  readonly allowedPowers: AllowedPowerBook;
  readonly forecasts: ForecastBatcher;
  readonly consumption: ConsumptionBatcher;
  /** A home's demand-response results (reported to its VEN); without it a VEN is reported none. */
  readonly drResults?: DrResults;
  readonly now?: () => Date;
}

/** Reports kept per VEN (the oldest go first): a VEN reads back what it sent lately. */
const MAX_REPORTS_PER_VEN = 50;
/** Reports kept in all: the oldest go first. */
const MAX_REPORTS = 20_000;
/**
 * Dispatched slots, newest first, whose allowed powers a listing may load from the ledger; older
 * ones show a dispatch only if the book holds it already, so a VEN's listing never evicts the
 * tables the devices of the live slots read.
 */
const LOADED_DISPATCHES = 2;

function venOf(client: VtnClient): VenRecord | undefined {
  return client.role === 'ven' ? client.ven : undefined;
}

/**
 * What the VTN answers, whatever the version's wire shape: events derived from the ledger's slots
 * (a bus's price range, a home's own dispatch), reports turned into the home's forecast or
 * consumption report through the relay's batches, aggregates for business logic.
 */
export class VtnService {
  private readonly reports = new Map<string, OwnedObject>();
  private readonly byOwner = new Map<string, string[]>();

  constructor(private readonly options: VtnServiceOptions) {}

  private now(): string {
    return (this.options.now?.() ?? new Date()).toISOString();
  }

  private async slot(slotId: string): Promise<SlotView | undefined> {
    return this.options.slots.slot(slotId).catch(() => undefined);
  }

  /** The buses a client sees: a VEN its home's; business logic every bus of this utility. */
  private busesOf(client: VtnClient, slot: SlotView): string[] {
    const ven = venOf(client);
    if (ven !== undefined) {
      return [ven.bus];
    }
    return slot.expected.filter((entry) => entry.org === this.options.org).map((entry) => entry.bus);
  }

  /** The home's dispatch event of a slot, when the slot is dispatched and the home has a forecast. */
  private async dispatchOf(
    version: OpenAdrVersion,
    slot: SlotView,
    ven: VenRecord,
    load = true,
  ): Promise<Json | undefined> {
    if (slot.dispatch === undefined) {
      return undefined;
    }
    const book = this.options.allowedPowers;
    const power = load
      ? await book
          .allowedPowerOf(slot.slotId, { homeId: ven.homeId, certificatePem: ven.certificate })
          .catch(() => undefined)
      : book.peek(slot.slotId, ven.homeId);
    return power === undefined
      ? undefined
      : dispatchEventOf(version, slot, {
          venId: ven.venId,
          venName: ven.venName,
          allowedKw: power.allowedKw,
          lambda: power.lambda,
        });
  }

  /** The events of one slot a client may see (its dispatch first). */
  async eventsOfSlot(
    version: OpenAdrVersion,
    client: VtnClient,
    slotId: string,
    loadDispatch = true,
  ): Promise<Json[]> {
    const slot = await this.slot(slotId);
    if (slot === undefined) {
      return [];
    }
    const found: Json[] = [];
    const ven = venOf(client);
    if (ven !== undefined) {
      const dispatch = await this.dispatchOf(version, slot, ven, loadDispatch);
      if (dispatch !== undefined) {
        found.push(dispatch);
      }
    }
    for (const bus of this.busesOf(client, slot)) {
      const price = priceEventOf(version, slot, bus);
      if (price !== undefined) {
        found.push(price);
      }
    }
    return found;
  }

  /** Events a client may see, newest slot first, until `wanted` are found. */
  async events(version: OpenAdrVersion, client: VtnClient, wanted: number): Promise<Json[]> {
    const found: Json[] = [];
    for (const [position, slotId] of this.options.slots.recent().entries()) {
      if (found.length >= wanted) {
        break;
      }
      found.push(...(await this.eventsOfSlot(version, client, slotId, position < LOADED_DISPATCHES)));
    }
    return found;
  }

  /** One event by id, if the client may see it; otherwise not found (its existence is not told). */
  async event(version: OpenAdrVersion, client: VtnClient, id: string): Promise<Json> {
    const ref = parseDerivedId(id);
    const slot = ref === undefined ? undefined : await this.slot(ref.slotId);
    const ven = venOf(client);
    let event: Json | undefined;
    if (ref !== undefined && slot !== undefined) {
      if (ref.kind === 'price' && this.busesOf(client, slot).includes(ref.subject)) {
        event = priceEventOf(version, slot, ref.subject);
      } else if (ref.kind === 'dispatch' && ven?.venId === ref.subject) {
        event = await this.dispatchOf(version, slot, ven);
      }
    }
    if (event === undefined) {
      throw notFound('no such event');
    }
    return event;
  }

  /** The VEN's home's demand-response results as reports of the VTN, newest event first. */
  private async drReportsOf(version: OpenAdrVersion, ven: VenRecord, wanted: number): Promise<Json[]> {
    const results = this.options.drResults;
    if (results === undefined || wanted <= 0) {
      return [];
    }
    const home = { homeId: ven.homeId, certificatePem: ven.certificate };
    return (await results.recent(home, wanted))
      .map((result) => drResultReportOf(version, this.options.org, ven, result))
      .filter((report): report is Json => report !== undefined);
  }

  /**
   * Reports a client may read: a VEN its own (newest first), then the VTN's reports of its home's
   * demand-response results; business logic this utility's per-bus aggregates.
   */
  async reportsOf(version: OpenAdrVersion, client: VtnClient, wanted: number): Promise<Json[]> {
    const ven = venOf(client);
    if (ven !== undefined) {
      const own = [...this.reports.values()]
        .filter((entry) => entry.owner === client.clientId)
        .map((entry) => ownReportFor(version, entry, client.clientId))
        .reverse();
      return [...own, ...(await this.drReportsOf(version, ven, wanted - own.length))];
    }
    const found: Json[] = [];
    for (const slotId of this.options.slots.recent()) {
      if (found.length >= wanted) {
        break;
      }
      const slot = await this.slot(slotId);
      if (slot === undefined) {
        continue;
      }
      for (const bus of this.busesOf(client, slot)) {
        const report = aggregateReportOf(version, slot, this.options.org, bus);
        if (report !== undefined) {
          found.push(report);
        }
      }
    }
    return found;
  }

  async report(version: OpenAdrVersion, client: VtnClient, id: string): Promise<Json> {
    const own = this.reports.get(id);
    if (own?.owner === client.clientId) {
      return ownReportFor(version, own, client.clientId);
    }
    const ref = parseDerivedId(id);
    const ven = venOf(client);
    if (ven !== undefined && ref?.kind === 'reward' && ref.subject === ven.venId) {
      const result = await this.options.drResults?.one(
        { homeId: ven.homeId, certificatePem: ven.certificate },
        ref.slotId,
      );
      const report =
        result === undefined ? undefined : drResultReportOf(version, this.options.org, ven, result);
      if (report !== undefined) {
        return report;
      }
    }
    if (client.role === 'bl' && ref?.kind === 'aggregate') {
      const slot = await this.slot(ref.slotId);
      const report =
        slot === undefined ? undefined : aggregateReportOf(version, slot, this.options.org, ref.subject);
      if (report !== undefined) {
        return report;
      }
    }
    throw notFound('no such report');
  }

  /**
   * A VEN's report: one USAGE_FORECAST payload (values [Lmin, Lmax] kW, or one value for both)
   * becomes the home's forecast for the event's slot, or one USAGE payload (values [kW drawn])
   * its consumption report. Both are relay-attested items of the relay's next batch, checked by
   * the chaincode like a device-signed one; the VEN's refusal is the item's own.
   */
  async createReport(version: OpenAdrVersion, client: VtnClient, body: Json): Promise<Json> {
    const ven = venOf(client);
    if (ven === undefined) {
      throw forbidden('only a VEN sends reports');
    }
    const eventID = String(body.eventID);
    const ref = parseDerivedId(eventID);
    const ownEvent =
      ref !== undefined &&
      ((ref.kind === 'price' && ref.subject === ven.bus) ||
        (ref.kind === 'dispatch' && ref.subject === ven.venId));
    const slot = ownEvent ? await this.slot(ref.slotId) : undefined;
    if (ref === undefined || slot === undefined) {
      throw notFound('the report names no event of this VEN');
    }
    const { type, values } = reportedUsage(body);
    const nonce = randomBytes(16).toString('base64');
    const device = { homeId: ven.homeId, certificatePem: ven.certificate };
    if (type === 'USAGE_FORECAST') {
      const lower = values[0]!;
      const upper = values[1] ?? lower;
      if (lower > upper) {
        throw badRequest('USAGE_FORECAST values must be [lower, upper] with lower <= upper');
      }
      const payload = JSON.stringify({ slotId: slot.slotId, lower, upper, nonce });
      await this.options.forecasts.submit(slot.slotId, {
        ...device,
        payload,
        signature: undefined,
        bus: ven.bus,
      });
    } else {
      if (values.length !== 1) {
        throw badRequest('a USAGE payload carries one value: the power drawn in kW');
      }
      const forecastBatch = await this.options.allowedPowers.forecastBatchOf(slot.slotId, device);
      const payload = JSON.stringify({ slotId: slot.slotId, drawnKw: values[0], nonce });
      await this.options.consumption.submit(slot.slotId, {
        ...device,
        payload,
        signature: undefined,
        forecastBatch,
      });
    }
    const at = this.now();
    const id = `report-${randomBytes(12).toString('base64url')}`;
    // What is kept of the report: its own members and the one usage payload, not whatever else
    // the body carried (a body may hold up to 256 KiB).
    const object: Json = {
      ...pick(body, ['eventID', 'clientName', 'reportName', 'programID']),
      resources: [
        { resourceName: firstResourceName(body), intervals: [{ id: 0, payloads: [{ type, values }] }] },
      ],
      id,
      createdDateTime: at,
      modificationDateTime: at,
      objectType: 'REPORT',
      ...(version === '3.0.1' ? { programID: body.programID ?? PROGRAM_ID } : { clientID: client.clientId }),
    };
    this.keep(client.clientId, id, object);
    return object;
  }

  private keep(owner: string, id: string, object: Json): void {
    this.reports.set(id, { owner, object });
    const ids = this.byOwner.get(owner) ?? [];
    ids.push(id);
    this.byOwner.set(owner, ids);
    for (const oldId of ids.splice(0, Math.max(0, ids.length - MAX_REPORTS_PER_VEN))) {
      this.reports.delete(oldId);
    }
    // Maps iterate in insertion order: the first entries are the oldest.
    for (const [oldId, entry] of this.reports) {
      if (this.reports.size <= MAX_REPORTS) {
        break;
      }
      this.reports.delete(oldId);
      const list = this.byOwner.get(entry.owner);
      list?.splice(list.indexOf(oldId), 1);
    }
  }
}

/**
 * A VEN's own report in the shape of the version it is read with (a VEN may have sent it through
 * the other version): 3.0.1 reports carry programID, 3.1.0 reports clientID instead.
 */
function ownReportFor(version: OpenAdrVersion, entry: OwnedObject, clientId: string): Json {
  const { programID, clientID, ...rest } = entry.object;
  return version === '3.0.1'
    ? { ...rest, programID: programID ?? PROGRAM_ID }
    : { ...rest, clientID: clientID ?? clientId };
}

/** The one USAGE_FORECAST or USAGE payload of a report, its values finite and non-negative. */
function reportedUsage(body: Json): { type: 'USAGE_FORECAST' | 'USAGE'; values: number[] } {
  const found: { type: 'USAGE_FORECAST' | 'USAGE'; values: unknown[] }[] = [];
  for (const resource of (body.resources as Json[] | undefined) ?? []) {
    for (const interval of (resource.intervals as Json[] | undefined) ?? []) {
      for (const payload of (interval.payloads as Json[] | undefined) ?? []) {
        if (payload.type === 'USAGE_FORECAST' || payload.type === 'USAGE') {
          found.push({ type: payload.type, values: (payload.values as unknown[] | undefined) ?? [] });
        }
      }
    }
  }
  const usage = found[0];
  if (found.length !== 1 || usage === undefined) {
    throw badRequest(
      'a report carries exactly one USAGE_FORECAST or USAGE payload, for the slot of its event',
    );
  }
  const values = usage.values;
  if (
    values.length < 1 ||
    values.length > 2 ||
    !values.every((value) => typeof value === 'number' && Number.isFinite(value) && value >= 0)
  ) {
    throw badRequest(`${usage.type} values must be one or two finite, non-negative numbers (kW)`);
  }
  return { type: usage.type, values: values as number[] };
}

function pick(body: Json, names: readonly string[]): Json {
  return Object.fromEntries(
    names.filter((name) => body[name] !== undefined).map((name) => [name, body[name]]),
  );
}

/** The resource a report names first (a VEN's home), bounded as the schema bounds it. */
function firstResourceName(body: Json): string {
  const resources = (body.resources as Json[] | undefined) ?? [];
  const name = resources[0]?.resourceName;
  return typeof name === 'string' ? name : 'home';
}
