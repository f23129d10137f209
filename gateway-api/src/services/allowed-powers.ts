import { HttpError } from '../http/errors';
import { decodeJson } from '../ledger/answers';
import { timeslot } from '../ledger/contracts';
import type { Ledger } from '../ledger/ports';

/** A home's allowed power in a dispatched slot (paper eq. (1)), as a device reads it. */
export interface AllowedPower {
  readonly slotId: string;
  readonly lambda: number;
  readonly allowedKw: number;
  readonly revision: number;
}

/** A device as the book knows it: its home and certificate (mutual TLS proved both). */
export interface BookDevice {
  readonly homeId: string;
  readonly certificatePem: string;
}

interface PowerTable {
  readonly revision: number;
  readonly batches: readonly string[];
  /** home reference → [allowed kW, λ, index into batches] */
  readonly rows: ReadonlyMap<string, readonly [number, number, number]>;
}

/** Slots kept in memory (tables and home references), most recent first. */
const DEFAULT_MAX_SLOTS = 8;

/**
 * Every home's allowed power per dispatched slot, in the utility gateway's memory: one evaluation
 * of GetAllowedPowers on the utility's own peer per slot and dispatch revision, then GET …/dispatch
 * is a lookup, and the device's event stream can carry its allowed power. A device is found by its
 * per-slot home reference, learned when its forecast was batched (GetHomeRefs, one evaluation per
 * batch) or, after a restart, with one GetHomeRef on its first read. A restart rebuilds the table
 * from the ledger the same way.
 */
export class AllowedPowerBook {
  private readonly tables = new Map<string, Promise<PowerTable>>();
  private readonly refs = new Map<string, Map<string, string>>();

  constructor(
    private readonly ledger: Ledger,
    private readonly maxSlots = DEFAULT_MAX_SLOTS,
  ) {}

  /** A dispatch (or revision) of a slot was committed: load its table now. */
  async dispatched(slotId: string, revision: number): Promise<void> {
    const known = this.tables.get(slotId);
    if (known !== undefined) {
      const table = await known.catch(() => undefined);
      if (table !== undefined && table.revision >= revision) {
        return;
      }
      this.tables.delete(slotId);
      this.loaded.delete(slotId);
    }
    await this.table(slotId).catch(() => undefined);
  }

  /** The device's allowed power; refusals as the chaincode gives them (no dispatch, no forecast). */
  async allowedPowerOf(slotId: string, device: BookDevice): Promise<AllowedPower> {
    const table = await this.table(slotId);
    const row = table.rows.get(await this.refOf(slotId, device));
    if (row === undefined) {
      throw new HttpError(404, 'NOT_FOUND', `no forecast of this home is held for slot ${slotId}`);
    }
    return { slotId, lambda: row[1], allowedKw: row[0], revision: table.revision };
  }

  /** The allowed power if both table and home reference are in memory already (event streams). */
  peek(slotId: string, homeId: string): AllowedPower | undefined {
    const table = this.loaded.get(slotId);
    const ref = this.refs.get(slotId)?.get(homeId);
    const row = ref === undefined ? undefined : table?.rows.get(ref);
    return table === undefined || row === undefined
      ? undefined
      : { slotId, lambda: row[1], allowedKw: row[0], revision: table.revision };
  }

  /** The batch holding the device's forecast in effect, for its consumption report. */
  async forecastBatchOf(slotId: string, device: BookDevice): Promise<string> {
    const table = await this.table(slotId);
    const row = table.rows.get(await this.refOf(slotId, device));
    const batch = row === undefined ? undefined : table.batches[row[2]];
    if (batch === undefined) {
      throw new HttpError(
        404,
        'NOT_FOUND',
        `no forecast of this home is held for slot ${slotId}, so it has no allowed power to report against`,
      );
    }
    return batch;
  }

  /** Learns the home references of devices whose forecasts were just batched (one evaluation). */
  async learn(slotId: string, devices: readonly BookDevice[]): Promise<void> {
    const unknown = devices.filter((device) => this.refs.get(slotId)?.get(device.homeId) === undefined);
    if (unknown.length === 0) {
      return;
    }
    const { refs } = decodeJson<{ refs: (string | null)[] }>(
      await timeslot(this.ledger, 'relay').GetHomeRefs.evaluate({
        arguments: [slotId],
        transientData: { homes: Buffer.from(JSON.stringify(unknown.map((device) => device.homeId))) },
        endorsingOrganizations: [this.ledger.mspId],
      }),
    );
    unknown.forEach((device, index) => {
      const ref = refs[index];
      if (typeof ref === 'string') {
        this.remember(slotId, device.homeId, ref);
      }
    });
  }

  /** Tables that finished loading, for synchronous lookups. */
  private readonly loaded = new Map<string, PowerTable>();

  private async refOf(slotId: string, device: BookDevice): Promise<string> {
    const known = this.refs.get(slotId)?.get(device.homeId);
    if (known !== undefined) {
      return known;
    }
    const { homeRef } = decodeJson<{ homeRef: string }>(
      await timeslot(this.ledger, 'relay').GetHomeRef.evaluate({
        arguments: [slotId],
        transientData: { certificate: Buffer.from(device.certificatePem, 'utf8') },
        endorsingOrganizations: [this.ledger.mspId],
      }),
    );
    this.remember(slotId, device.homeId, homeRef);
    return homeRef;
  }

  private remember(slotId: string, homeId: string, ref: string): void {
    let slotRefs = this.refs.get(slotId);
    if (slotRefs === undefined) {
      slotRefs = new Map();
      this.refs.set(slotId, slotRefs);
      this.forgetOldest(this.refs);
    }
    slotRefs.set(homeId, ref);
  }

  private table(slotId: string): Promise<PowerTable> {
    let table = this.tables.get(slotId);
    if (table === undefined) {
      table = this.load(slotId);
      // Not dispatched yet, or the peer did not answer: the next read asks again.
      table.catch(() => {
        this.tables.delete(slotId);
      });
      this.tables.set(slotId, table);
      this.forgetOldest(this.tables);
    }
    return table;
  }

  private async load(slotId: string): Promise<PowerTable> {
    const answer = decodeJson<{
      revision: number;
      batches: string[];
      homes: [string, number, number, number][];
    }>(
      await timeslot(this.ledger, 'relay').GetAllowedPowers.evaluate({
        arguments: [slotId],
        endorsingOrganizations: [this.ledger.mspId],
      }),
    );
    const table: PowerTable = {
      revision: answer.revision,
      batches: answer.batches,
      rows: new Map(answer.homes.map(([ref, allowedKw, lambda, batch]) => [ref, [allowedKw, lambda, batch]])),
    };
    this.loaded.set(slotId, table);
    this.forgetOldest(this.loaded);
    return table;
  }

  private forgetOldest<V>(map: Map<string, V>): void {
    while (map.size > this.maxSlots) {
      map.delete(map.keys().next().value!);
    }
  }
}
