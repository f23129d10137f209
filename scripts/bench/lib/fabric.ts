/** Network access shared by the on-chain benchmarks: bench gateways, slots, enrolment, timed submits. */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Contract } from '@hyperledger/fabric-gateway';
import {
  connectAs,
  evaluateJson,
  submitJson,
  type FabricConnection,
  type NetworkDescription,
} from '@hems/network-client';
import type { SlotSchedule } from '@hems/protocol';
import { GatewayProcesses, useGatewayPorts } from '@hems/testkit';

/**
 * The benchmarks' own gateway ports, so they never collide with gateways an operator runs on the
 * defaults (9443-9446) against the same network.
 */
export const BENCH_GATEWAY_PORTS: Readonly<Record<string, number>> = {
  DSOMSP: 29443,
  UtilityAMSP: 29444,
  UtilityBMSP: 29445,
  RegulatorMSP: 29446,
};

export const UTILITIES: readonly string[] = ['UtilityAMSP', 'UtilityBMSP'];

/** The feeder buses of the network's sample enrolment, on which feeder devices live. */
export const FEEDER_BUSES: readonly string[] = ['bus-1', 'bus-2'];

const utf8 = new TextDecoder();

/**
 * Starts gateway processes (gateway-api/dist/main.js) for the given orgs on the bench ports, each
 * with its own state folder under `<network state>/bench/gateways/` and the environment `env`
 * added (e.g. its forecast batching), runs `work`, stops them.
 */
export async function withBenchGateways<T>(
  description: NetworkDescription,
  mspIds: readonly string[],
  env: Readonly<Record<string, string>>,
  work: () => Promise<T>,
): Promise<T> {
  useGatewayPorts(BENCH_GATEWAY_PORTS);
  const gateways = new GatewayProcesses(description.stateDir);
  const previousState = process.env.HEMS_GATEWAY_STATE;
  const previousEnv = Object.fromEntries(Object.keys(env).map((name) => [name, process.env[name]]));
  Object.assign(process.env, env);
  try {
    for (const mspId of mspIds) {
      // One state folder per gateway (idempotency records, event checkpoint), apart from those
      // of gateways on the default ports.
      const stateDir = path.join(description.stateDir, 'bench', 'gateways', mspId);
      mkdirSync(stateDir, { recursive: true });
      process.env.HEMS_GATEWAY_STATE = stateDir;
      await gateways.start(description, [mspId]);
    }
    return await work();
  } finally {
    for (const [name, value] of Object.entries({ ...previousEnv, HEMS_GATEWAY_STATE: previousState })) {
      if (value === undefined) {
        delete process.env[name];
      } else {
        process.env[name] = value;
      }
    }
    await gateways.stop();
  }
}

/** A slot id unique to this run: `bench-<label>-<base36 time>-<random>`. */
export function benchSlotId(label: string): string {
  return `bench-${label}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
}

/**
 * Opens a slot as the DSO operator with a default price range; the deadline is `minutes` ahead
 * (answered). With `schedule`, the slot's delivery interval and time-of-use period (OpenSlot's
 * 4th argument; demand-response events need peak slots).
 */
export async function openSlot(
  dso: FabricConnection,
  slotId: string,
  minutes = 60,
  schedule?: SlotSchedule,
): Promise<Date> {
  const deadline = new Date(Date.now() + minutes * 60_000);
  await submitJson(dso.contract(), 'OpenSlot', {
    args: [
      slotId,
      deadline.toISOString(),
      JSON.stringify({ default: { lower: 20, upper: 80 } }),
      schedule === undefined ? '' : JSON.stringify(schedule),
    ],
  });
  return deadline;
}

export interface Enrolment {
  readonly org: string;
  readonly bus: string;
  readonly homes: number;
}

export async function enrolment(connection: FabricConnection): Promise<Enrolment[]> {
  return (await evaluateJson<{ enrolment: Enrolment[] }>(connection.contract('governance'), 'GetEnrolment'))
    .enrolment;
}

/** governance:SetEnrolledHomes as the utility admin (0 removes the bus from later slots). */
export async function setEnrolledHomes(admin: FabricConnection, bus: string, homes: number): Promise<void> {
  await submitJson(admin.contract('governance'), 'SetEnrolledHomes', { args: [bus, String(homes)] });
}

/** Connections to close together. */
export class Connections {
  private readonly open: FabricConnection[] = [];

  constructor(private readonly description: NetworkDescription) {}

  as(mspId: string, identity: string): FabricConnection {
    const connection = connectAs(this.description, {
      mspId,
      identity,
      // Large aggregations take longer than the interactive defaults.
      timeouts: { evaluate: 120_000, endorse: 300_000, submit: 120_000, commit: 300_000 },
    });
    this.open.push(connection);
    return connection;
  }

  close(): void {
    for (const connection of this.open.splice(0)) {
      connection.close();
    }
  }
}

export interface PhasedSubmit<T> {
  readonly result: T;
  /** Proposal sent to its commit status received. */
  readonly totalMs: number;
  /** Endorsement (chaincode execution on the endorsing peers). */
  readonly endorseMs: number;
  /** Ordering, validation and commit, until the commit status arrived. */
  readonly commitMs: number;
}

/**
 * Submits a transaction step by step (endorse, submit, commit status) and times each step; throws
 * when the transaction does not commit as valid.
 */
export async function submitPhased<T>(
  contract: Contract,
  name: string,
  options: {
    readonly args: readonly string[];
    readonly transientData?: Record<string, Uint8Array>;
    readonly endorsingOrganizations?: readonly string[];
  },
): Promise<PhasedSubmit<T>> {
  const t0 = performance.now();
  const proposal = contract.newProposal(name, {
    arguments: [...options.args],
    ...(options.transientData ? { transientData: options.transientData } : {}),
    ...(options.endorsingOrganizations
      ? { endorsingOrganizations: [...options.endorsingOrganizations] }
      : {}),
  });
  const transaction = await proposal.endorse();
  const t1 = performance.now();
  const commit = await transaction.submit();
  const status = await commit.getStatus();
  const t2 = performance.now();
  if (!status.successful) {
    throw new Error(
      `${name} transaction ${status.transactionId} did not commit: validation code ${status.code}`,
    );
  }
  return {
    result: JSON.parse(utf8.decode(transaction.getResult())) as T,
    totalMs: t2 - t0,
    endorseMs: t1 - t0,
    commitMs: t2 - t1,
  };
}
