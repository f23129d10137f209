/**
 * The simulated HEMS devices: each one a separate client of its utility's REST gateway with its
 * own key pair, enrolled once through the gateways (the utility admin registers the home, the
 * device sends a CSR) and cached in the network's state folder, so a rerun starts at once.
 * A device steers its home's appliances (home-state.ts), whose state carries over from slot to
 * slot and day to day; its forecasts, allowance and drawn power stay in the device (here: in this
 * object) and only leave it as the signed forecast and report to its own utility.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { connectAs, evaluateJson, submitJson, type NetworkDescription } from '@hems/network-client';
import { GatewayApiError, HemsClient, type AccountInfo, type DeviceCredentials } from '@hems/device-client';
import { callGateway, gatewayCaPem, gatewayUrl } from '@hems/testkit';
import { createHomeProfile, type HomeProfile, type PriceRange } from './appliance-model';
import { UTILITIES, type Feeder, type HomeSpec } from './feeder-model';
import type { EmergencyShed, HomeDrawResult, HomeState, SlotSignals } from './home-state';
import { paddedEscrow, planOrder } from './market-model';

interface CachedDevice {
  readonly homeId: string;
  readonly mspId: string;
  readonly bus: string;
  readonly credentials: DeviceCredentials;
}

/** Enrolments running at once: each is a CA registration and a CA enrolment. */
const ENROLMENT_CONCURRENCY = 4;

/** How long a device waits for its utility's peer to learn of a new slot or dispatch. */
const VISIBILITY_TIMEOUT_MS = 20_000;
const VISIBILITY_POLL_MS = 150;

function cacheFile(description: NetworkDescription): string {
  return path.join(description.stateDir, 'day', 'devices.json');
}

function readCache(file: string): CachedDevice[] {
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as CachedDevice[]) : [];
}

function writeCache(file: string, devices: readonly CachedDevice[]): void {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  // Written whole and renamed, so an interrupted run never leaves a truncated cache of keys.
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, JSON.stringify(devices), { mode: 0o600 });
  renameSync(temporary, file);
}

/** The home id of a home slot of the layout: stable across runs, so cached devices are reused. */
function homeIdOf(home: HomeSpec, ordinalOnBus: number): string {
  const utility = home.mspId === 'UtilityAMSP' ? 'a' : 'b';
  return `day-${utility}-${home.bus}-${String(ordinalOnBus).padStart(3, '0')}`;
}

async function enrolDevice(
  description: NetworkDescription,
  home: HomeSpec,
  homeId: string,
): Promise<CachedDevice> {
  const register = (id: string) =>
    callGateway<{ enrollmentId: string; secret: string; message?: string }>(
      description,
      home.mspId,
      { mspId: home.mspId, name: 'orgadmin' },
      'POST',
      '/v1/devices',
      { homeId: id, bus: home.bus },
    );
  let id = homeId;
  let registered = await register(id);
  if (registered.status === 409) {
    // Registered by an earlier run whose cache is gone: the secret was used, so a new home id.
    id = `${homeId}-${randomBytes(3).toString('hex')}`;
    registered = await register(id);
  }
  if (registered.status !== 201) {
    throw new Error(
      `the ${home.mspId} gateway refused to register a device (${registered.status}): ${registered.body.message ?? ''}`,
    );
  }
  const credentials = await HemsClient.enroll({
    gatewayUrl: gatewayUrl(home.mspId),
    gatewayCaPem: gatewayCaPem(description, home.mspId),
    enrollmentId: registered.body.enrollmentId,
    secret: registered.body.secret,
  });
  return { homeId: id, mspId: home.mspId, bus: home.bus, credentials };
}

/** Every home of the feeder with its stable home id. */
export function homesOf(feeder: Feeder): { home: HomeSpec; homeId: string }[] {
  const ordinals = new Map<string, number>();
  return feeder.homes.map((home) => {
    const key = `${home.mspId}/${home.bus}`;
    const ordinal = (ordinals.get(key) ?? 0) + 1;
    ordinals.set(key, ordinal);
    return { home, homeId: homeIdOf(home, ordinal) };
  });
}

/**
 * Devices for the homes of the feeder that `include` picks (default: all), enrolled through the
 * running gateways where the cache has none. Returns each with its home, and how long new
 * enrolments took.
 */
export async function enrolDevices(
  description: NetworkDescription,
  feeder: Feeder,
  log: (line: string) => void,
  include: (home: HomeSpec) => boolean = () => true,
): Promise<{ devices: { device: CachedDevice; home: HomeSpec }[]; seconds: number }> {
  const file = cacheFile(description);
  const cache = readCache(file);
  const wanted = homesOf(feeder).filter(({ home }) => include(home));
  const cachedOf = (homeId: string): CachedDevice | undefined =>
    cache.find((device) => device.homeId === homeId || device.homeId.startsWith(`${homeId}-`));
  const missing = wanted.filter(({ homeId }) => cachedOf(homeId) === undefined);
  const started = performance.now();
  if (missing.length > 0) {
    log(`enrolling ${missing.length} simulated HEMS devices through the utility gateways (once; cached)`);
  }
  for (let next = 0; next < missing.length; next += ENROLMENT_CONCURRENCY) {
    const batch = missing.slice(next, next + ENROLMENT_CONCURRENCY);
    cache.push(
      ...(await Promise.all(batch.map(({ home, homeId }) => enrolDevice(description, home, homeId)))),
    );
    writeCache(file, cache);
  }
  const devices = wanted.map(({ home, homeId }) => {
    const device = cachedOf(homeId);
    if (device === undefined) {
      throw new Error('a device is missing from the enrolment cache');
    }
    return { device, home };
  });
  return { devices, seconds: missing.length === 0 ? 0 : (performance.now() - started) / 1000 };
}

/**
 * The utility admins record how many homes each enrolled on each bus of the day, so a slot's
 * aggregate closes as soon as all of them submitted. The day takes the feeder over while it runs:
 * every other bus of the utility (an earlier day's layout, the sample buses the bootstrap enrols)
 * is set to 0 homes, because every slot waits for every enrolled bus and nobody plays those.
 */
export async function setEnrolledHomes(
  description: NetworkDescription,
  feeder: Feeder,
  log: (line: string) => void,
): Promise<void> {
  for (const mspId of UTILITIES) {
    const admin = connectAs(description, { mspId, identity: 'orgadmin' });
    try {
      const governance = admin.contract('governance');
      const { enrolment } = await evaluateJson<{ enrolment: { org: string; bus: string; homes: number }[] }>(
        governance,
        'GetEnrolment',
      );
      const wanted = new Map(feeder.buses.map((bus) => [bus.bus, bus.homesByUtility[mspId]]));
      for (const entry of enrolment) {
        if (entry.org === mspId && !wanted.has(entry.bus) && entry.homes > 0) {
          wanted.set(entry.bus, 0);
        }
      }
      for (const [bus, homes] of wanted) {
        const current = enrolment.find((entry) => entry.org === mspId && entry.bus === bus)?.homes ?? 0;
        if (current !== homes) {
          await submitJson(governance, 'SetEnrolledHomes', { args: [bus, String(homes)] });
          log(`${mspId}: ${homes} homes enrolled on ${bus}`);
        }
      }
    } finally {
      admin.close();
    }
  }
}

/** A device's outcome for one slot; the forecast itself stays inside the device. */
export type SubmitOutcome =
  | { readonly accepted: true; readonly latencyMs: number; readonly via?: 'openadr' }
  | { readonly accepted: false; readonly reason: string };

/** A device's outcome for one trading window; the order itself stays inside the device. */
export type OrderOutcome =
  | { readonly placed: false }
  | {
      readonly placed: true;
      readonly side: 'offer' | 'bid';
      readonly accepted: true;
      readonly latencyMs: number;
    }
  | {
      readonly placed: true;
      readonly side: 'offer' | 'bid';
      readonly accepted: false;
      readonly reason: string;
    };

/** What a home drew in a slot: the simulation's meter; never put into a result. */
export interface DrawOutcome {
  readonly org: string;
  readonly bus: string;
  readonly homeId: string;
  readonly drawnKw: number;
  /** The meter's reading over the slot, whole Wh (drawnKw × 250 exactly). */
  readonly drawnWh: number;
  /** What the same home would have drawn without demand response (no event, no emergency). */
  readonly withoutDrWh: number;
  /** Under an emergency: what the home shed, by class. */
  readonly shed?: EmergencyShed;
  /** The home drew more than its utility allowed. */
  readonly overAllowance: boolean;
}

/** A home's draw in a slot as the day records it, from its appliance state's result. */
export function drawOutcome(
  home: { readonly mspId: string; readonly bus: string; readonly homeId: string },
  drawn: HomeDrawResult,
): DrawOutcome {
  return {
    org: home.mspId,
    bus: home.bus,
    homeId: home.homeId,
    drawnKw: drawn.drawnKw,
    drawnWh: drawn.drawnWh,
    withoutDrWh: drawn.withoutDrWh,
    ...(drawn.shed === undefined ? {} : { shed: drawn.shed }),
    overAllowance: drawn.overAllowance,
  };
}

function isStatus(error: unknown, ...codes: number[]): boolean {
  return error instanceof GatewayApiError && codes.includes(error.statusCode);
}

/** Repeats `read` while the utility's peer has not seen the block yet (404/409 answers). */
async function whenVisible<T>(read: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + VISIBILITY_TIMEOUT_MS;
  for (;;) {
    try {
      return await read();
    } catch (error) {
      if (!isStatus(error, 404, 409, 412, 422) || Date.now() > deadline) {
        throw error;
      }
      await delay(VISIBILITY_POLL_MS);
    }
  }
}

/**
 * A home as a slot plays it: a HEMS device (SimulatedHome) or an OpenADR VEN (OpenAdrHome).
 * `slot` is the absolute slot of the appliance models (days.ts absoluteSlot); `signals` what the
 * grid told the home about the slot (a demand-response event, an emergency).
 */
export interface DayHome {
  readonly mspId: string;
  readonly bus: string;
  readonly homeId: string;
  /** The home's appliances: the meter head-end reads its meter here. */
  readonly state: HomeState;
  submitForecast(slotId: string, slot: number, signals?: SlotSignals): Promise<SubmitOutcome>;
  /** withoutDrLambda: the λ the twins without DR would have been dispatched with (home-state.ts). */
  draw(slotId: string, withoutDrLambda?: number): Promise<DrawOutcome | undefined>;
  close(): void;
}

/** One home: its appliances and its own REST client of its utility's gateway. */
export class SimulatedHome implements DayHome {
  readonly mspId: string;
  readonly bus: string;
  readonly homeId: string;
  private readonly client: HemsClient;
  /** The home's installed PV and model for the energy auction's orders. */
  private readonly profile: HomeProfile;
  /** The absolute slot of each slot id this home forecast, until it has drawn its power. */
  private readonly forecasts = new Map<string, number>();

  constructor(
    description: NetworkDescription,
    device: CachedDevice,
    private readonly spec: HomeSpec,
    private readonly seed: number,
    readonly state: HomeState,
  ) {
    this.mspId = device.mspId;
    this.bus = device.bus;
    this.homeId = device.homeId;
    this.profile = createHomeProfile(seed, spec.index);
    this.client = new HemsClient({
      gatewayUrl: gatewayUrl(device.mspId),
      gatewayCaPem: gatewayCaPem(description, device.mspId),
      ...device.credentials,
      retry: { attempts: 4, initialDelayMs: 200, maxDelayMs: 2000 },
    });
  }

  /** Reads the slot's price range for its bus, computes its range and submits it, signed. */
  async submitForecast(slotId: string, slot: number, signals?: SlotSignals): Promise<SubmitOutcome> {
    try {
      const info = await whenVisible(() => this.client.getSlot(slotId));
      const prices: PriceRange | null = info.prices;
      const range = this.state.forecast(slot, prices, signals);
      this.forecasts.set(slotId, slot);
      const started = performance.now();
      await this.client.submitForecast(slotId, { lower: range.lower, upper: range.upper });
      return { accepted: true, latencyMs: performance.now() - started };
    } catch (error) {
      this.forecasts.delete(slotId);
      this.state.release(slot);
      // The gateway's message is about the slot or the request, never the forecast's values.
      return { accepted: false, reason: error instanceof Error ? error.message : String(error) };
    }
  }

  /**
   * Reads its allowed power (the gateway computes λ·Lmax + (1−λ)·Lmin on the utility's peer, shrunk
   * under an emergency), lets its appliances draw up to that and reports the drawn power, signed.
   * Undefined when it had no forecast in the slot.
   */
  async draw(slotId: string, withoutDrLambda?: number): Promise<DrawOutcome | undefined> {
    const slot = this.forecasts.get(slotId);
    if (slot === undefined) {
      return undefined;
    }
    this.forecasts.delete(slotId);
    try {
      const dispatch = await whenVisible(() => this.client.getDispatch(slotId));
      const drawn = await this.state.draw(slot, {
        allowedKw: dispatch.allowedKw,
        lambda: dispatch.lambda,
        ...(withoutDrLambda === undefined ? {} : { withoutDrLambda }),
      });
      // The meter's reading, signed by the device: its utility's peer judges it against the allowance.
      await this.client.reportConsumption(slotId, drawn.drawnKw);
      return drawOutcome(this, drawn);
    } finally {
      this.state.release(slot);
    }
  }

  /**
   * Sizes its order for the delivery slot from its own model and the slot's tariff prices (a
   * prosumer offers its surplus, a consumer bids for its flexible demand), signs it and submits it
   * sealed; a bid escrows its value rounded up to whole currency units.
   */
  async submitOrder(windowId: string, deliverySlot: number, prices: PriceRange): Promise<OrderOutcome> {
    const plan = planOrder(this.profile, this.seed, this.spec.index, deliverySlot, prices);
    if (plan === null) {
      return { placed: false };
    }
    const started = performance.now();
    try {
      await this.client.submitOrder(windowId, {
        ...plan,
        ...(plan.side === 'bid' ? { escrow: paddedEscrow(plan) } : {}),
      });
      return { placed: true, side: plan.side, accepted: true, latencyMs: performance.now() - started };
    } catch (error) {
      // The gateway's refusals name the window and the rule, never the order's values.
      return {
        placed: true,
        side: plan.side,
        accepted: false,
        reason: error instanceof Error ? error.message : String(error),
      };
    }
  }

  /** Its pseudonymous token account, as its utility's relay looks it up. */
  account(): Promise<AccountInfo> {
    return this.client.getMyAccount();
  }

  close(): void {
    this.client.close();
  }
}
