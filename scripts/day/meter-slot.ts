/**
 * A utility's meter head-end in every played slot: it reads its homes' meters (the appliances'
 * metered draw) and records the readings on its own peer (POST /v1/slots/{slotId}/meter-readings),
 * so the consumption summaries judge each device's report against its meter and count the ones
 * that disagree; then it posts its prosumers' metered export, minted as production tokens
 * (POST /v1/slots/{slotId}/production). Home ids and readings stay here; results hold counts and
 * sums.
 */
import type { NetworkDescription } from '@hems/network-client';
import { callGateway } from '@hems/testkit';
import { surplusKw } from './appliance-model';
import { alreadyDone, failure, meterOf, persist } from './auction-calls';
import type { DrawOutcome } from './devices';
import { WH_PER_KW_SLOT } from './home-appliances';
import { isProsumer } from './market-model';
import { batches } from './meter-history';
import { pricesOnBus, type SlotPrices } from './tariff';
import type { UtilityHome } from './utility';

/** Readings per meter-readings post and exports per production post: the chaincode's bounds. */
export const MAX_SLOT_READINGS = 1000;
export const MAX_PRODUCTION_EXPORTS = 1000;
/** Price units (1/10000 currency per MWh) per currency per MWh. */
const PRICE_UNITS = 10_000;

export interface ProductionOutcome {
  readonly org: string;
  /** Prosumers with a metered export in the slot (posted). */
  readonly exports: number;
  readonly exportWh: number;
  /** Tokens minted, value units (1e-10 currency) as a decimal string. */
  readonly minted: string;
  readonly refused: number;
}

/** The meter readings of `org`'s homes that drew in a slot: the metered Wh of each. */
export function readingsOf(
  draws: readonly DrawOutcome[],
  org: string,
): { homeId: string; energyWh: number }[] {
  return draws
    .filter((draw) => draw.org === org)
    .map((draw) => ({ homeId: draw.homeId, energyWh: draw.drawnWh }));
}

/**
 * The metered export of each prosumer in a slot of the day, whole Wh: what its PV produced beyond
 * its own load and battery (appliance-model.ts surplusKw) over the 15 minutes; only exports > 0.
 */
export function productionExports(
  homes: readonly Pick<UtilityHome, 'homeId' | 'spec' | 'profile'>[],
  seed: number,
  slot: number,
  prices: SlotPrices,
): { homeId: string; exportWh: number }[] {
  return homes
    .filter((home) => isProsumer(home.profile))
    .map((home) => ({
      homeId: home.homeId,
      exportWh: Math.floor(
        surplusKw(home.profile, seed, home.spec.index, slot, pricesOnBus(prices, home.spec.bus)) *
          WH_PER_KW_SLOT +
          1e-9,
      ),
    }))
    .filter((entry) => entry.exportWh > 0);
}

/** Tokens for `exportWh` at the channel's production token rate (currency per MWh), value units. */
export function productionValue(exportWh: number, ratePerMwh: number): bigint {
  return BigInt(exportWh) * BigInt(Math.round(ratePerMwh * PRICE_UNITS));
}

interface BatchAnswer {
  readonly accepted?: number;
  readonly refused?: readonly { index: number }[];
  readonly minted?: string;
}

/** One utility's meter head-end in the slots of the day. */
export class MeterHeadEnd {
  constructor(
    private readonly description: NetworkDescription,
    readonly mspId: string,
    private readonly homes: readonly UtilityHome[],
    private readonly seed: number,
    /** The channel's productionTokenRate, currency per MWh exported. */
    private readonly tokenRate: number,
  ) {}

  private post<T>(what: string, urlPath: string, body: unknown) {
    return persist(what, () =>
      callGateway<T>(this.description, this.mspId, meterOf(this.mspId), 'POST', urlPath, body),
    );
  }

  /** Records the meter reading of every home of this utility that drew in the slot; answers the count. */
  async recordReadings(slotId: string, draws: readonly DrawOutcome[]): Promise<number> {
    let accepted = 0;
    for (const readings of batches(readingsOf(draws, this.mspId), MAX_SLOT_READINGS)) {
      const what = `${this.mspId}: recording the meter readings of slot ${slotId}`;
      const answer = await this.post<BatchAnswer>(
        what,
        `/v1/slots/${encodeURIComponent(slotId)}/meter-readings`,
        {
          readings,
        },
      );
      if (answer.status === 200) {
        accepted += answer.body.accepted ?? readings.length;
      } else if (!alreadyDone(answer)) {
        throw failure(what, answer);
      }
    }
    return accepted;
  }

  /**
   * Posts the metered export of this utility's prosumers in the slot, minted into their accounts
   * once per slot; nothing to post when none exported.
   */
  async mintProduction(slotId: string, slot: number, prices: SlotPrices): Promise<ProductionOutcome> {
    let outcome: ProductionOutcome = { org: this.mspId, exports: 0, exportWh: 0, minted: '0', refused: 0 };
    // Not named `exports`: in the CommonJS output that would shadow the module's own exports.
    for (const batch of batches(
      productionExports(this.homes, this.seed, slot, prices),
      MAX_PRODUCTION_EXPORTS,
    )) {
      const what = `${this.mspId}: minting the production of slot ${slotId}`;
      const answer = await this.post<BatchAnswer>(
        what,
        `/v1/slots/${encodeURIComponent(slotId)}/production`,
        { exports: batch },
      );
      if (alreadyDone(answer)) {
        continue;
      }
      if (answer.status < 200 || answer.status > 299) {
        throw failure(what, answer);
      }
      const refused = new Set((answer.body.refused ?? []).map((entry) => entry.index));
      const minted = batch.filter((_, index) => !refused.has(index));
      const exportWh = minted.reduce((sum, entry) => sum + entry.exportWh, 0);
      const value =
        typeof answer.body.minted === 'string' && /^\d+$/.test(answer.body.minted)
          ? BigInt(answer.body.minted)
          : productionValue(exportWh, this.tokenRate);
      outcome = {
        org: this.mspId,
        exports: outcome.exports + minted.length,
        exportWh: outcome.exportWh + exportWh,
        minted: (BigInt(outcome.minted) + value).toString(),
        refused: outcome.refused + refused.size,
      };
    }
    return outcome;
  }
}
