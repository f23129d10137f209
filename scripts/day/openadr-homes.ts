/**
 * The simulated day's OpenADR homes: a share of the homes run a VEN instead of our HEMS client.
 * Their utility's admin issues each one VEN credentials (cached in the network's state folder);
 * the VEN reads its bus's price event, reports its forecast range as USAGE_FORECAST, reads its
 * dispatch event's IMPORT_CAPACITY_LIMIT, and reports what it drew as USAGE. Its reports are
 * relay-attested on the ledger, which the channel allows by a majority of the members.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { connectAs, evaluateJson, submitJson, type NetworkDescription } from '@hems/network-client';
import { callGateway, gatewayCaPem, gatewayUrl } from '@hems/testkit';
import {
  drawOutcome,
  type DayHome,
  type DrawOutcome,
  type OrderOutcome,
  type SubmitOutcome,
} from './devices';
import { UTILITIES, type HomeSpec } from './feeder-model';
import type { HomeState, SlotSignals } from './home-state';
import { OpenAdrVen, VenError, type VenCredentials } from './openadr-ven';

interface CachedVen extends VenCredentials {
  readonly homeId: string;
  readonly mspId: string;
  readonly bus: string;
}

const VISIBILITY_TIMEOUT_MS = 20_000;
const VISIBILITY_POLL_MS = 200;
const VERSION_PATH = '/openadr/3.1.0';
/**
 * Events a VEN lists at once (newest slots first): the specification's default page. A demand-
 * response event's slots are opened ahead of time (dr-event.ts), so the slot being played may be
 * a dozen slots behind the newest one.
 */
const EVENTS_PAGE = 50;

/** Whether the home at `index` runs a VEN: an even spread of `share` of the homes. */
export function runsVen(index: number, share: number): boolean {
  return Math.floor((index + 1) * share + 1e-9) > Math.floor(index * share + 1e-9);
}

function cacheFile(description: NetworkDescription): string {
  return path.join(description.stateDir, 'day', 'vens.json');
}

function readCache(file: string): CachedVen[] {
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as CachedVen[]) : [];
}

function writeCache(file: string, vens: readonly CachedVen[]): void {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, JSON.stringify(vens), { mode: 0o600 });
  renameSync(temporary, file);
}

/**
 * Lets both utilities submit relay-attested items, by a majority: UtilityA's admin proposes, the
 * DSO's and UtilityB's admins approve. Nothing to do when the settings already allow it.
 */
export async function allowRelayAttestation(
  description: NetworkDescription,
  log: (line: string) => void,
): Promise<void> {
  const admins = ['UtilityAMSP', 'DSOMSP', 'UtilityBMSP'].map((mspId) =>
    connectAs(description, { mspId, identity: 'orgadmin' }),
  );
  try {
    const governance = admins.map((admin) => admin.contract('governance'));
    const settings = await evaluateJson<{ relayAttestationMspIds?: string[]; approvalQuorum: number }>(
      governance[0]!,
      'GetSettings',
    );
    if (UTILITIES.every((mspId) => settings.relayAttestationMspIds?.includes(mspId) === true)) {
      return;
    }
    const proposalId = `relay-attestation-${Date.now().toString(36)}`;
    const change = JSON.stringify({ relayAttestationMspIds: [...UTILITIES] });
    let proposal = await submitJson<{ status: string }>(governance[0]!, 'ProposeSettings', {
      args: [proposalId, change],
    });
    for (const approver of governance.slice(1)) {
      if (proposal.status === 'APPLIED') {
        break;
      }
      proposal = await submitJson<{ status: string }>(approver, 'ApproveSettings', { args: [proposalId] });
    }
    log(
      `relay-attested items (OpenADR VENs) allowed for ${UTILITIES.join(', ')} by a majority: ${proposal.status}`,
    );
  } finally {
    admins.forEach((admin) => admin.close());
  }
}

/** The homes' VEN credentials, issued by their utilities' admins where the cache has none. */
export async function issueVens(
  description: NetworkDescription,
  homes: readonly { home: HomeSpec; homeId: string }[],
  log: (line: string) => void,
): Promise<CachedVen[]> {
  const file = cacheFile(description);
  const cache = readCache(file);
  const missing = homes.filter(({ homeId }) => !cache.some((ven) => ven.homeId === homeId));
  if (missing.length > 0) {
    log(`issuing ${missing.length} OpenADR VENs through the utility gateways (once; cached)`);
  }
  for (const { home, homeId } of missing) {
    const issued = await callGateway<VenCredentials & { message?: string }>(
      description,
      home.mspId,
      { mspId: home.mspId, name: 'orgadmin' },
      'POST',
      '/v1/vens',
      { homeId, bus: home.bus, venName: homeId },
    );
    if (issued.status !== 201) {
      throw new Error(
        `the ${home.mspId} gateway refused to issue a VEN (${issued.status}): ${issued.body.message ?? ''}`,
      );
    }
    const { clientId, clientSecret, venId } = issued.body;
    cache.push({ homeId, mspId: home.mspId, bus: home.bus, clientId, clientSecret, venId });
    writeCache(file, cache);
  }
  return homes.map(({ homeId }) => {
    const ven = cache.find((entry) => entry.homeId === homeId);
    if (ven === undefined) {
      throw new Error('a VEN is missing from the cache');
    }
    return ven;
  });
}

/** The VTN base URL of a utility: its gateway's port + 1000 (HEMS_GATEWAY_OPENADR_PORT's default). */
export function vtnUrl(mspId: string): string {
  const url = new URL(gatewayUrl(mspId));
  url.port = String(Number(url.port) + 1000);
  return `${url.origin}${VERSION_PATH}`;
}

interface EventObject {
  readonly id: string;
  readonly eventName?: string;
  readonly intervals?: readonly {
    readonly payloads: readonly { readonly type: string; readonly values: readonly number[] }[];
  }[];
}

function payloadOf(event: EventObject, type: string): readonly number[] | undefined {
  return event.intervals?.[0]?.payloads.find((payload) => payload.type === type)?.values;
}

/** One home run by an OpenADR VEN: its appliances and its VEN. */
export class OpenAdrHome implements DayHome {
  readonly mspId: string;
  readonly bus: string;
  readonly homeId: string;
  readonly via = 'openadr';
  private readonly ven: OpenAdrVen;
  private readonly forecasts = new Map<string, { slot: number; eventId: string }>();

  constructor(
    description: NetworkDescription,
    credentials: CachedVen,
    readonly state: HomeState,
  ) {
    this.mspId = credentials.mspId;
    this.bus = credentials.bus;
    this.homeId = credentials.homeId;
    this.ven = new OpenAdrVen(
      vtnUrl(credentials.mspId),
      gatewayCaPem(description, credentials.mspId),
      credentials,
    );
  }

  /** The slot's event named `<slotId> <what>`, once the VTN has it. */
  private async eventOf(slotId: string, what: 'price range' | 'dispatch'): Promise<EventObject> {
    const deadline = Date.now() + VISIBILITY_TIMEOUT_MS;
    for (;;) {
      const events = await this.ven.get<EventObject[]>(`/events?skip=0&limit=${EVENTS_PAGE}`);
      const found = events.find((event) => event.eventName === `slot ${slotId} ${what}`);
      if (found !== undefined) {
        return found;
      }
      if (Date.now() > deadline) {
        throw new VenError(404, `the VTN shows no ${what} event of slot ${slotId}`);
      }
      await delay(VISIBILITY_POLL_MS);
    }
  }

  private report(eventId: string, type: 'USAGE_FORECAST' | 'USAGE', values: number[]): Promise<unknown> {
    return this.ven.post('/reports', {
      eventID: eventId,
      clientName: this.ven.venId,
      reportName: type,
      resources: [{ resourceName: 'home', intervals: [{ id: 0, payloads: [{ type, values }] }] }],
    });
  }

  async submitForecast(slotId: string, slot: number, signals?: SlotSignals): Promise<SubmitOutcome> {
    try {
      const event = await this.eventOf(slotId, 'price range');
      const price = payloadOf(event, 'PRICE');
      const prices = price === undefined ? null : { lower: price[0] ?? 0, upper: price[1] ?? price[0] ?? 0 };
      const range = this.state.forecast(slot, prices, signals);
      const started = performance.now();
      await this.report(event.id, 'USAGE_FORECAST', [range.lower, range.upper]);
      this.forecasts.set(slotId, { slot, eventId: event.id });
      return { accepted: true, latencyMs: performance.now() - started, via: 'openadr' };
    } catch (error) {
      this.state.release(slot);
      return { accepted: false, reason: error instanceof Error ? error.message : String(error) };
    }
  }

  async draw(slotId: string, withoutDrLambda?: number): Promise<DrawOutcome | undefined> {
    const planned = this.forecasts.get(slotId);
    if (planned === undefined) {
      return undefined;
    }
    this.forecasts.delete(slotId);
    try {
      const event = await this.eventOf(slotId, 'dispatch');
      const allowedKw = payloadOf(event, 'IMPORT_CAPACITY_LIMIT')?.[0];
      if (allowedKw === undefined) {
        throw new Error(`slot ${slotId}: the dispatch event carries no IMPORT_CAPACITY_LIMIT`);
      }
      const drawn = await this.state.draw(planned.slot, {
        allowedKw,
        ...(withoutDrLambda === undefined ? {} : { withoutDrLambda }),
      });
      await this.report(event.id, 'USAGE', [drawn.drawnKw]);
      return drawOutcome(this, drawn);
    } finally {
      this.state.release(planned.slot);
    }
  }

  /** OpenADR has no sealed auction: a VEN home does not trade. */
  submitOrder(): Promise<OrderOutcome> {
    return Promise.resolve({ placed: false });
  }

  close(): void {
    this.ven.close();
  }
}
