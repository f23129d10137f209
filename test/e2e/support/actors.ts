import {
  chaincodeRefusal,
  connectAs,
  type Device,
  evaluateJson,
  type FabricConnection,
  loadNetworkDescription,
  type NetworkDescription,
  type SignedForecast,
  signForecast,
  submitJson,
  transientOf,
} from '@hems/network-client';
import { expect } from 'chai';
import { E2E_STATE_DIR } from './network';

export const UTILITY_A = 'UtilityAMSP';
export const UTILITY_B = 'UtilityBMSP';
export const UTILITIES = [UTILITY_A, UTILITY_B] as const;

export const PRICES = JSON.stringify({
  default: { lower: 20, upper: 80 },
  buses: [{ bus: 'bus-2', lower: 35, upper: 110 }],
});

/** The people and systems of the network, each connected to its own org's peer. */
export class Actors {
  readonly description: NetworkDescription;
  readonly dso: FabricConnection;
  readonly auditor: FabricConnection;
  readonly relays: ReadonlyMap<string, FabricConnection>;
  readonly admins: ReadonlyMap<string, FabricConnection>;
  private readonly extra: FabricConnection[] = [];

  constructor() {
    this.description = loadNetworkDescription(E2E_STATE_DIR);
    this.dso = connectAs(this.description, { mspId: 'DSOMSP', identity: 'dso-operator' });
    this.auditor = connectAs(this.description, { mspId: 'RegulatorMSP', identity: 'auditor' });
    this.relays = new Map(
      UTILITIES.map((mspId) => [mspId, connectAs(this.description, { mspId, identity: 'relay' })]),
    );
    this.admins = new Map(
      UTILITIES.map((mspId) => [mspId, connectAs(this.description, { mspId, identity: 'orgadmin' })]),
    );
  }

  relay(mspId: string): FabricConnection {
    const relay = this.relays.get(mspId);
    if (relay === undefined) {
      throw new Error(`no relay of ${mspId}`);
    }
    return relay;
  }

  admin(mspId: string): FabricConnection {
    const admin = this.admins.get(mspId);
    if (admin === undefined) {
      throw new Error(`no admin of ${mspId}`);
    }
    return admin;
  }

  /** Another connection, closed with the others (e.g. an identity talking to a foreign peer). */
  connect(mspId: string, identity: string, peerMspId?: string): FabricConnection {
    const connection = connectAs(this.description, { mspId, identity, ...(peerMspId ? { peerMspId } : {}) });
    this.extra.push(connection);
    return connection;
  }

  async openSlot(slotId: string, deadlineInMs: number): Promise<void> {
    const deadline = new Date(Date.now() + deadlineInMs).toISOString();
    await submitJson(this.dso.contract(), 'OpenSlot', { args: [slotId, deadline, PRICES, ''] });
  }

  /** The relay of the device's utility submits what the device signed, endorsed by its own peer only. */
  async submitForecast(
    device: Device,
    slotId: string,
    lower: number,
    upper: number,
  ): Promise<SignedForecast> {
    const signed = signForecast(device, slotId, lower, upper);
    await this.submitSigned(device, slotId, signed);
    return signed;
  }

  async submitSigned(device: Device, slotId: string, signed: SignedForecast): Promise<void> {
    await submitJson(this.relay(device.mspId).contract(), 'SubmitForecast', {
      args: [slotId],
      transientData: transientOf(signed),
      endorsingOrganizations: [device.mspId],
    });
  }

  /** What a utility's gateway does: list its forecast batches on its own peer, then publish the sums. */
  async publishAggregate(mspId: string, slotId: string, bus: string): Promise<void> {
    const contract = this.relay(mspId).contract();
    const { batches } = await evaluateJson<{ batches: string[] }>(contract, 'ListForecastBatches', [slotId]);
    await submitJson(contract, 'PublishAggregate', {
      args: [slotId, bus],
      transientData: { batches: Buffer.from(JSON.stringify(batches)) },
      endorsingOrganizations: [mspId],
    });
  }

  async allowedPower(device: Device, slotId: string): Promise<{ allowedKw: number; lambda: number }> {
    const relay = this.relay(device.mspId).contract();
    const { homeRef } = await evaluateJson<{ homeRef: string }>(relay, 'GetHomeRef', [slotId], {
      certificate: Buffer.from(device.certificatePem),
    });
    return evaluateJson(relay, 'GetAllowedPower', [slotId, homeRef]);
  }

  close(): void {
    for (const connection of [
      this.dso,
      this.auditor,
      ...this.relays.values(),
      ...this.admins.values(),
      ...this.extra,
    ]) {
      connection.close();
    }
  }
}

/** Asserts a chaincode refusal with `code` came back through the real peer. */
export async function expectRefusal(
  promise: Promise<unknown>,
  code: string,
  pattern?: RegExp,
): Promise<void> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  expect(caught, 'expected a refusal').to.be.instanceOf(Error);
  const refusal = chaincodeRefusal(caught);
  expect(
    refusal,
    `not a chaincode refusal: ${caught instanceof Error ? caught.message : String(caught)}`,
  ).to.not.equal(undefined);
  expect(refusal?.code).to.equal(code);
  if (pattern !== undefined) {
    expect(refusal?.message).to.match(pattern);
  }
}

/** Distinct forecast ranges in kW with three decimals, deterministic per index. */
export function forecastFor(index: number): [number, number] {
  const lower = Math.round((0.5 + ((index * 0.731) % 4.2)) * 1000) / 1000;
  const upper = Math.round((lower + 0.25 + ((index * 1.377) % 5.3)) * 1000) / 1000;
  return [lower, upper];
}

export function sumKw(values: readonly number[]): number {
  return values.reduce((total, kw) => total + Math.round(kw * 1000), 0) / 1000;
}

export function uniqueSlotId(label: string): string {
  return `${label}-${Date.now().toString(36)}`;
}
