import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { canonicalJson, DEFAULT_SETTINGS } from '@hems/protocol';
import { GovernanceContract } from '../../src/governance/governance-contract';
import { TimeslotContract } from '../../src/timeslot/timeslot-contract';
import {
  type CommittedTransaction,
  FakeLedger,
  identities,
  type InvokeOptions,
  type TestIdentity,
} from './fake-ledger';
import { createCa, issueDevice, signForecast, type DeviceOptions, type TestCa, type TestDevice } from './pki';

export const UTILITY_A = 'UtilityAMSP';
export const UTILITY_B = 'UtilityBMSP';

/** Enrolled homes per (org, bus) in the standard scenario; bus-2 of A is below k = 5. */
export const ENROLMENT: readonly { org: string; bus: string; homes: number }[] = [
  { org: UTILITY_A, bus: 'bus-1', homes: 5 },
  { org: UTILITY_A, bus: 'bus-2', homes: 2 },
  { org: UTILITY_B, bus: 'bus-1', homes: 5 },
];

export const DEFAULT_PRICES = JSON.stringify({
  default: { lower: 20, upper: 80 },
  buses: [{ bus: 'bus-2', lower: 35.5, upper: 120 }],
});

export const MINUTE = 60 * 1000;

/** Five homes' forecast ranges [lower, upper] in kW: ΣLmin 4.75, ΣLmax 10.5. */
export const FIVE_RANGES: readonly (readonly [number, number])[] = [
  [1, 2],
  [2, 3],
  [0.5, 0.5],
  [1.25, 4],
  [0, 1],
];

/** A channel with both utilities' CAs, secrets and enrolment registered, and helpers for each step. */
export class Scenario {
  readonly ledger = new FakeLedger();
  readonly timeslot = new TimeslotContract();
  readonly governance = new GovernanceContract();
  readonly cas = new Map<string, TestCa>();
  private homeCounter = 0;

  static async create<T extends Scenario>(this: new () => T): Promise<T> {
    const scenario = new this();
    for (const org of [UTILITY_A, UTILITY_B]) {
      const ca = await createCa(org);
      scenario.cas.set(org, ca);
      await scenario.ledger.invoke(identities.admin(org), (ctx) =>
        scenario.governance.RegisterOrgCAs(ctx, ca.pem),
      );
      await scenario.ledger.invoke(
        identities.admin(org),
        (ctx) => scenario.governance.SetHomeRefSecret(ctx),
        {
          transient: { secret: randomBytes(32) },
        },
      );
    }
    for (const { org, bus, homes } of ENROLMENT) {
      await scenario.ledger.invoke(identities.admin(org), (ctx) =>
        scenario.governance.SetEnrolledHomes(ctx, bus, String(homes)),
      );
    }
    return scenario;
  }

  /** A scenario with slot `slotId` open (deadline in 15 minutes, the default prices). */
  static async withSlot(slotId: string): Promise<Scenario> {
    const scenario = await Scenario.create();
    await scenario.openSlot(slotId);
    return scenario;
  }

  /**
   * Writes the channel settings straight into the ledger (as an applied proposal would), with
   * `utilityMspIds` as the channel's utilities: how a test adds utilities after the fact.
   */
  async setUtilities(utilityMspIds: readonly string[]): Promise<void> {
    await this.ledger.invoke(identities.dso(), async (ctx) => {
      await ctx.stub.putState(
        ctx.keys.settings(),
        Buffer.from(canonicalJson({ ...DEFAULT_SETTINGS, utilityMspIds, version: 1 })),
      );
      return '';
    });
  }

  /** Fresh devices of the named homes, in order: `{ seller: UTILITY_A, buyer: UTILITY_B }`. */
  async devices<K extends string>(orgs: Record<K, string>, bus = 'bus-1'): Promise<Record<K, TestDevice>> {
    const devices: Partial<Record<K, TestDevice>> = {};
    for (const name of Object.keys(orgs) as K[]) {
      devices[name] = await this.device(orgs[name], bus);
    }
    return devices as Record<K, TestDevice>;
  }

  ca(org: string): TestCa {
    const ca = this.cas.get(org);
    if (ca === undefined) {
      throw new Error(`no test CA for ${org}`);
    }
    return ca;
  }

  async device(org: string, bus: string, options: Partial<DeviceOptions> = {}): Promise<TestDevice> {
    this.homeCounter += 1;
    return issueDevice(this.ca(org), { homeId: `home-${org}-${this.homeCounter}`, bus, ...options });
  }

  async openSlot(
    slotId: string,
    options: { deadlineInMs?: number; prices?: string; schedule?: string } = {},
  ): Promise<string> {
    const deadline = new Date(
      this.ledger.now.getTime() + (options.deadlineInMs ?? 15 * MINUTE),
    ).toISOString();
    return this.ledger.invoke(identities.dso(), (ctx) =>
      this.timeslot.OpenSlot(ctx, slotId, deadline, options.prices ?? DEFAULT_PRICES, options.schedule ?? ''),
    );
  }

  /** The relay of the device's org submits the device's signed forecast. */
  async submit(
    org: string,
    device: TestDevice,
    forecast: { slotId: string; lower: unknown; upper: unknown; nonce?: unknown },
    options: InvokeOptions & { relay?: TestIdentity; argSlotId?: string } = {},
  ): Promise<string> {
    const signed = signForecast(device, forecast);
    return this.ledger.invoke(
      options.relay ?? identities.relay(org),
      (ctx) => this.timeslot.SubmitForecast(ctx, options.argSlotId ?? forecast.slotId),
      { transient: { ...signed }, ...options },
    );
  }

  /** What a utility gateway does at the deadline: list its forecast refs on its peer, then publish. */
  async publishAggregate(
    slotId: string,
    org: string,
    bus: string,
    caller: TestIdentity = identities.relay(org),
  ): Promise<string> {
    // All of the org's forecast batches in the slot, whatever their buses (see PublishAggregate).
    const batches = await this.listBatches(slotId, org, caller);
    return this.ledger.invoke(caller, (ctx) => this.timeslot.PublishAggregate(ctx, slotId, bus), {
      peer: org,
      transient: { batches: JSON.stringify(batches) },
    });
  }

  async listBatches(
    slotId: string,
    org: string,
    caller: TestIdentity = identities.relay(org),
  ): Promise<string[]> {
    const listed = await this.ledger.evaluate(
      caller,
      (ctx) => this.timeslot.ListForecastBatches(ctx, slotId),
      { peer: org },
    );
    return (JSON.parse(listed) as { batches: string[] }).batches;
  }

  /** The relay submits the devices' signed forecasts as one batch; answers the batch receipt. */
  async submitBatch(
    org: string,
    entries: readonly {
      device: TestDevice;
      forecast: { slotId: string; lower: unknown; upper: unknown; nonce?: unknown };
    }[],
    options: InvokeOptions & { relay?: TestIdentity; argSlotId?: string; slotId?: string } = {},
  ): Promise<BatchReceiptView> {
    const items = entries.map(({ device, forecast }) => {
      const signed = signForecast(device, forecast);
      return {
        payload: Buffer.from(signed.payload).toString('base64'),
        signature: Buffer.from(signed.signature).toString('base64'),
        certificate: Buffer.from(signed.certificate).toString('utf8'),
      };
    });
    const slotId = options.argSlotId ?? options.slotId ?? entries[0]?.forecast.slotId ?? '';
    const answer = await this.ledger.invoke(
      options.relay ?? identities.relay(org),
      (ctx) => this.timeslot.SubmitForecasts(ctx, slotId),
      { transient: { items: JSON.stringify(items) }, ...options },
    );
    return JSON.parse(answer) as BatchReceiptView;
  }

  /**
   * The batch holding the home's forecast in effect (from GetForecastProof on its utility's
   * peer), or a transaction id of no batch when the home has none.
   */
  async forecastBatchOf(org: string, device: TestDevice, slotId: string): Promise<string> {
    try {
      const proof = await this.ledger.evaluateJson<{ batch: string }>(
        identities.relay(org),
        (ctx) => this.timeslot.GetForecastProof(ctx, slotId),
        { peer: org, transient: { certificate: device.pem } },
      );
      return proof.batch;
    } catch {
      return '0'.repeat(64);
    }
  }

  async dispatch(slotId: string, lambda: string, perBus = '', reason = ''): Promise<string> {
    return this.ledger.invoke(identities.dso(), (ctx) =>
      this.timeslot.PublishDispatch(ctx, slotId, lambda, perBus, reason),
    );
  }

  async getSlot(
    slotId: string,
    caller: TestIdentity = identities.auditor(),
  ): Promise<Record<string, unknown>> {
    return this.ledger.evaluateJson<Record<string, unknown>>(caller, (ctx) =>
      this.timeslot.GetSlot(ctx, slotId),
    );
  }

  async homeRef(org: string, device: TestDevice, slotId: string): Promise<string> {
    const result = await this.ledger.evaluate(
      identities.relay(org),
      (ctx) => this.timeslot.GetHomeRef(ctx, slotId),
      {
        transient: { certificate: device.pem },
      },
    );
    return (JSON.parse(result) as { homeRef: string }).homeRef;
  }

  /** Submits `forecasts` for fresh devices on (org, bus); returns the devices. */
  async submitMany(
    slotId: string,
    org: string,
    bus: string,
    forecasts: readonly (readonly [number, number])[],
  ): Promise<TestDevice[]> {
    const devices: TestDevice[] = [];
    for (const [lower, upper] of forecasts) {
      const device = await this.device(org, bus);
      await this.submit(org, device, { slotId, lower, upper });
      devices.push(device);
    }
    return devices;
  }
}

/** What SubmitForecasts answers. */
export interface BatchReceiptView {
  readonly slotId: string;
  readonly txId: string;
  readonly acceptedAt: string;
  readonly accepted: number;
  readonly refused: readonly { index: number; code: string; message: string }[];
}

/** Asserts that `promise` rejects with a ContractError of `code` whose message matches `pattern`. */
export async function expectRefusal(
  promise: Promise<unknown>,
  code: string,
  pattern?: RegExp,
): Promise<Error> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  expect(caught, 'expected the transaction to be refused').to.be.instanceOf(Error);
  const error = caught as Error;
  expect(error.message.startsWith(`${code}: `), `"${error.message}" should start with ${code}`).to.equal(
    true,
  );
  if (pattern !== undefined) {
    expect(error.message).to.match(pattern);
  }
  return error;
}

/**
 * `count` transactions, each created by a relay (never by a home) and endorsed by the relay's own
 * peer alone, without events: how device-signed data reaches a utility's collection.
 */
export function expectRelayTransactions(txs: readonly CommittedTransaction[], count: number): void {
  expect(txs).to.have.length(count);
  for (const tx of txs) {
    expect(tx.creatorRole).to.equal('relay');
    expect(tx.endorser).to.equal(tx.creator);
    expect(tx.events).to.deep.equal([]);
  }
}

/** Roles of a utility's identities. */
export type UtilityRole = 'relay' | 'meter' | 'admin';

/**
 * The callers a transaction reserved to the `allowed` roles of `org` on its own peer must refuse,
 * each with the peer it calls: every other identity on its own org's peer (a device certificate
 * used as a client, the utility's other roles, the DSO's operators, an auditor, an outsider), and
 * the allowed roles of the other utility on `org`'s peer.
 */
export function callersOtherThan(
  allowed: readonly UtilityRole[],
  org = UTILITY_A,
): { caller: TestIdentity; peer: string }[] {
  const other = org === UTILITY_A ? UTILITY_B : UTILITY_A;
  const roles: readonly UtilityRole[] = ['relay', 'meter', 'admin'];
  const elsewhere = [
    identities.device(org),
    ...roles.filter((role) => !allowed.includes(role)).map((role) => identities[role](org)),
    identities.dso(),
    identities.market(),
    identities.auditor(),
    identities.outsider(),
  ];
  return [
    ...elsewhere.map((caller) => ({ caller, peer: caller.mspId })),
    ...allowed.map((role) => ({ caller: identities[role](other), peer: org })),
  ];
}
