import type { SlotView } from '@hems/protocol';
import type { DrHomeResult } from './dr-results';
import { derivedId } from './object-ids';
import type { OpenAdrVersion } from './versions';

/**
 * The OpenADR objects the VTN derives from the ledger, per version: the utility's program, a
 * slot's price range for a bus, a home's dispatch, a bus's aggregate. Values come from the public
 * slot record (prices, λ, sums) and, for a dispatch, from the home's allowed power.
 */

export const PROGRAM_ID = 'hems-timeslots';
/** Every slot is one interval of this length, starting at the slot's forecast deadline. */
export const SLOT_DURATION = 'PT15M';
export const SLOT_DURATION_MS = 15 * 60_000;
/** The program's creation time: fixed, so every gateway instance answers the same object. */
const PROGRAM_CREATED = '2026-01-01T00:00:00.000Z';
/** Payload types the specs do not define carry the x- prefix (custom types are allowed). */
export const DISPATCH_FACTOR = 'x-HEMS-DISPATCH-FACTOR';
export const HOMES = 'x-HEMS-HOMES';
export const RELAY_ATTESTED = 'x-HEMS-RELAY-ATTESTED';

type Json = Record<string, unknown>;

/** Targets: 3.1.0 lists strings; 3.0.1 lists valuesMaps of a target type. */
function targets(version: OpenAdrVersion, type: 'GROUP' | 'VEN_NAME', value: string): unknown[] {
  return version === '3.1.0' ? [value] : [{ type, values: [value] }];
}

function descriptor(version: OpenAdrVersion, payloadType: string, units?: string): Json {
  return {
    ...(version === '3.1.0' ? { objectType: 'EVENT_PAYLOAD_DESCRIPTOR' } : {}),
    payloadType,
    ...(units === undefined ? {} : { units }),
  };
}

export function programOf(version: OpenAdrVersion, org: string): Json {
  return {
    id: PROGRAM_ID,
    createdDateTime: PROGRAM_CREATED,
    modificationDateTime: PROGRAM_CREATED,
    objectType: 'PROGRAM',
    programName: `HEMS timeslots of ${org}`,
    ...(version === '3.0.1'
      ? { programLongName: 'Private load forecasts, per-bus sums and dispatch by λ' }
      : {}),
    payloadDescriptors: [
      descriptor(version, 'PRICE', 'MWH'),
      descriptor(version, 'IMPORT_CAPACITY_LIMIT', 'KW'),
      descriptor(version, DISPATCH_FACTOR),
    ],
  };
}

function priceOfBus(slot: SlotView, bus: string): { lower: number; upper: number } | undefined {
  return slot.prices.buses.find((entry) => entry.bus === bus) ?? slot.prices.default;
}

const intervalPeriod = (slot: SlotView): Json => ({ start: slot.deadline, duration: SLOT_DURATION });

/**
 * The slot's price range for a bus: one interval, one PRICE payload whose two values are the
 * range's lower and upper bound (per MWh). Undefined when the bus has no price in the slot.
 */
export function priceEventOf(version: OpenAdrVersion, slot: SlotView, bus: string): Json | undefined {
  const price = priceOfBus(slot, bus);
  const id = derivedId('price', slot.slotId, bus);
  if (price === undefined || id === undefined) {
    return undefined;
  }
  return {
    id,
    createdDateTime: slot.openedAt,
    modificationDateTime: slot.openedAt,
    objectType: 'EVENT',
    programID: PROGRAM_ID,
    eventName: `slot ${slot.slotId} price range`,
    priority: 0,
    targets: targets(version, 'GROUP', bus),
    payloadDescriptors: [descriptor(version, 'PRICE', 'MWH')],
    intervalPeriod: intervalPeriod(slot),
    intervals: [{ id: 0, payloads: [{ type: 'PRICE', values: [price.lower, price.upper] }] }],
  };
}

/** What a home's dispatch is rendered from: its allowed power and its bus's λ. */
export interface HomeDispatch {
  readonly venId: string;
  readonly venName: string;
  readonly allowedKw: number;
  readonly lambda: number;
}

/** A home's dispatch: IMPORT_CAPACITY_LIMIT (kW) = its allowed power, and λ. Only its VEN sees it. */
export function dispatchEventOf(
  version: OpenAdrVersion,
  slot: SlotView,
  home: HomeDispatch,
): Json | undefined {
  const id = derivedId('dispatch', slot.slotId, home.venId);
  if (slot.dispatch === undefined || id === undefined) {
    return undefined;
  }
  return {
    id,
    createdDateTime: slot.dispatch.publishedAt,
    modificationDateTime: slot.dispatch.publishedAt,
    objectType: 'EVENT',
    programID: PROGRAM_ID,
    eventName: `slot ${slot.slotId} dispatch`,
    priority: 0,
    targets: targets(version, 'VEN_NAME', home.venName),
    payloadDescriptors: [
      descriptor(version, 'IMPORT_CAPACITY_LIMIT', 'KW'),
      descriptor(version, DISPATCH_FACTOR),
    ],
    intervalPeriod: intervalPeriod(slot),
    intervals: [
      {
        id: 0,
        payloads: [
          { type: 'IMPORT_CAPACITY_LIMIT', values: [home.allowedKw] },
          { type: DISPATCH_FACTOR, values: [home.lambda] },
        ],
      },
    ],
  };
}

/**
 * This utility's published aggregate of a bus as a report for business logic: resource
 * AGGREGATED_REPORT with USAGE_FORECAST [ΣLmin, ΣLmax] in kW, the home count and how many of
 * those forecasts were relay-attested. Below k homes only the count (the sums are withheld).
 */
export function aggregateReportOf(
  version: OpenAdrVersion,
  slot: SlotView,
  org: string,
  bus: string,
): Json | undefined {
  const aggregate = slot.aggregates.find(
    (entry) => entry.org === org && entry.bus === bus && entry.published,
  );
  const id = derivedId('aggregate', slot.slotId, bus);
  const eventID = derivedId('price', slot.slotId, bus);
  if (aggregate === undefined || id === undefined || eventID === undefined) {
    return undefined;
  }
  const payloads: Json[] = [{ type: HOMES, values: [aggregate.homes ?? 0] }];
  if (aggregate.withheld !== true && aggregate.lower !== undefined && aggregate.upper !== undefined) {
    payloads.unshift({ type: 'USAGE_FORECAST', values: [aggregate.lower, aggregate.upper] });
    payloads.push({ type: RELAY_ATTESTED, values: [aggregate.relayAttested ?? 0] });
  }
  const at = slot.openedAt;
  return {
    id,
    createdDateTime: at,
    modificationDateTime: at,
    objectType: 'REPORT',
    ...(version === '3.0.1' ? { programID: PROGRAM_ID } : { clientID: org }),
    eventID,
    clientName: org,
    reportName: 'AGGREGATED_REPORT',
    resources: [
      {
        resourceName: 'AGGREGATED_REPORT',
        intervalPeriod: intervalPeriod(slot),
        intervals: [{ id: 0, payloads }],
      },
    ],
  };
}

/** The VEN a demand-response result is rendered for. */
export interface ResultVen {
  readonly venId: string;
  readonly venName: string;
  readonly clientId: string;
}

/** Average power over a 15-minute interval of `wh` Wh, in kW: Wh × 4 / 1000, 3 decimals (exact). */
export function quarterHourKw(wh: number): number {
  return Math.round(wh * 4) / 1000;
}

const DR_PAYLOAD_TYPES = ['BASELINE', 'USAGE', 'DELTA_USAGE'] as const;

function reportDescriptor(version: OpenAdrVersion, payloadType: string): Json {
  return {
    ...(version === '3.1.0' ? { objectType: 'REPORT_PAYLOAD_DESCRIPTOR' } : {}),
    payloadType,
    units: 'KW',
  };
}

/**
 * A home's result of a demand-response event, as a report of the VTN to the home's VEN: one
 * interval per event interval (15 minutes from the event's start, UTC) with BASELINE (the
 * home's baseline), USAGE (metered) and DELTA_USAGE (baseline − metered, the reduction; negative
 * above the baseline), each the interval's average power in kW. Its eventID names the
 * demand-response event (`dr-<event>-<org>`; such events are not served as OpenADR events).
 * Undefined when an id would be too long.
 */
export function drResultReportOf(
  version: OpenAdrVersion,
  org: string,
  ven: ResultVen,
  result: DrHomeResult,
): Json | undefined {
  const { event } = result;
  const id = derivedId('reward', event.eventId, ven.venId);
  const eventID = derivedId('dr', event.eventId, org);
  const firstStart = Date.parse(`${event.date}T00:00:00.000Z`) + event.start * SLOT_DURATION_MS;
  if (id === undefined || eventID === undefined || !Number.isFinite(firstStart)) {
    return undefined;
  }
  const at = event.declaredAt ?? new Date(firstStart).toISOString();
  const intervals = result.baselineWh.map((baselineWh, index) => {
    const meteredWh = result.meteredWh[index] ?? 0;
    return {
      id: index,
      intervalPeriod: {
        start: new Date(firstStart + index * SLOT_DURATION_MS).toISOString(),
        duration: SLOT_DURATION,
      },
      payloads: [
        { type: 'BASELINE', values: [quarterHourKw(baselineWh)] },
        { type: 'USAGE', values: [quarterHourKw(meteredWh)] },
        { type: 'DELTA_USAGE', values: [quarterHourKw(baselineWh - meteredWh)] },
      ],
    };
  });
  return {
    id,
    createdDateTime: at,
    modificationDateTime: at,
    objectType: 'REPORT',
    ...(version === '3.0.1' ? { programID: PROGRAM_ID } : { clientID: ven.clientId }),
    eventID,
    clientName: ven.venName,
    reportName: `demand-response event ${event.eventId}`,
    payloadDescriptors: DR_PAYLOAD_TYPES.map((type) => reportDescriptor(version, type)),
    resources: [
      {
        resourceName: 'home',
        intervalPeriod: { start: new Date(firstStart).toISOString(), duration: SLOT_DURATION },
        intervals,
      },
    ],
  };
}
