/**
 * A utility's back office in the simulated day's auction (docs/auction.md): token accounts and
 * starting balances for its homes, its prosumers' available energy, delivery readings and
 * settlement. Home ids and the account ids they map to stay here.
 */
import type { NetworkDescription } from '@hems/network-client';
import { callGateway, type ApiResponse } from '@hems/testkit';
import type { HomeProfile } from './appliance-model';
import type { SimulatedHome } from './devices';
import type { HomeSpec } from './feeder-model';
import type { HomeState } from './home-state';
import { adminOf, alreadyDone, AuctionError, failure, meterOf, persist } from './auction-calls';
import {
  availableEnergyKwh,
  formatValue,
  isProsumer,
  meteredWh,
  VALUE_UNITS_PER_CURRENCY,
} from './market-model';
import { pricesOnBus, type SlotPrices } from './tariff';
import type { TradeRecord } from '@hems/protocol';

/** Balance each consumer's account is topped up to at the start of the day, currency. */
export const START_BALANCE = 50n;
/** Account openings and deposits running at once (each a majority-endorsed transaction). */
const ACCOUNT_CONCURRENCY = 8;

/**
 * A home as its utility knows it: the home id it enrolled, its HEMS device (none for a home run by
 * an OpenADR VEN, which does not trade), its smart-meter model (PV) and its meter (the appliances'
 * metered draw).
 */
export interface UtilityHome {
  readonly homeId: string;
  readonly spec: HomeSpec;
  readonly profile: HomeProfile;
  readonly device: SimulatedHome | undefined;
  readonly meter: HomeState;
}

/** Runs `work` over `items`, at most `concurrency` at a time. */
async function inBatches<T>(
  items: readonly T[],
  concurrency: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  for (let next = 0; next < items.length; next += concurrency) {
    await Promise.all(items.slice(next, next + concurrency).map(work));
  }
}

/**
 * One utility's back office in the auction: its admin (accounts, deposits, settlement) and its
 * meter head-end (available energy, delivery readings). It alone links a pseudonymous account id
 * to one of its homes.
 */
export class Utility {
  /** accountId → home: the utility's own records, never part of a result. */
  private readonly homesByAccount = new Map<string, UtilityHome>();

  constructor(
    private readonly description: NetworkDescription,
    readonly mspId: string,
    readonly homes: readonly UtilityHome[],
    private readonly seed: number,
  ) {}

  private call<T>(
    as: { mspId: string; name: string },
    method: string,
    urlPath: string,
    body?: unknown,
  ): Promise<ApiResponse<T>> {
    return callGateway<T>(this.description, this.mspId, as, method, urlPath, body);
  }

  /**
   * Opens an account for every home (an existing one, from an earlier day, is kept: 409) and tops
   * every HEMS consumer's balance up to START_BALANCE; prosumers start at zero and only sell.
   */
  async openAccounts(): Promise<void> {
    const start = START_BALANCE * VALUE_UNITS_PER_CURRENCY;
    await inBatches(this.homes, ACCOUNT_CONCURRENCY, async (home) => {
      const opened = await this.call(adminOf(this.mspId), 'POST', '/v1/accounts', { homeId: home.homeId });
      if (opened.status !== 201 && !alreadyDone(opened)) {
        throw failure(`${this.mspId}: opening an account`, opened);
      }
      if (home.device === undefined) {
        // A VEN's home: an account for its demand-response rewards and production tokens only.
        return;
      }
      // The device reads its own account through the relay: the id is what the utility's
      // secret makes of the home id, so the utility can always compute this mapping itself.
      const account = await home.device.account();
      this.homesByAccount.set(account.accountId, home);
      const missing = start - BigInt(account.balance);
      if (isProsumer(home.profile) || missing <= 0n) {
        return;
      }
      // Deposits take at most 4 decimals: round up to 1e-4 currency (1e6 value units).
      const step = 1_000_000n;
      const amount = formatValue((((missing + step - 1n) / step) * step).toString());
      const deposited = await this.call(adminOf(this.mspId), 'POST', '/v1/accounts/deposits', {
        homeId: home.homeId,
        amount,
      });
      if (deposited.status !== 201) {
        throw failure(`${this.mspId}: depositing a starting balance`, deposited);
      }
    });
  }

  /**
   * The meter head-end posts the available energy of every prosumer with a HEMS device (VEN homes
   * do not trade) for the window; answers how many.
   */
  async postAvailability(windowId: string, deliverySlot: number, prices: SlotPrices): Promise<number> {
    const availability = this.homes
      .filter((home) => home.device !== undefined && isProsumer(home.profile))
      .map((home) => ({
        homeId: home.homeId,
        energyKwh: availableEnergyKwh(
          home.profile,
          this.seed,
          home.spec.index,
          deliverySlot,
          pricesOnBus(prices, home.spec.bus),
        ),
      }));
    if (availability.length === 0) {
      return 0;
    }
    // A later post replaces an earlier one, so a retry after a transient answer is harmless.
    const posted = await persist(`${this.mspId}: posting available energy for ${windowId}`, () =>
      this.call(meterOf(this.mspId), 'POST', `/v1/windows/${encodeURIComponent(windowId)}/available-energy`, {
        availability,
      }),
    );
    if (posted.status !== 200) {
      throw failure(`${this.mspId}: posting available energy for ${windowId}`, posted);
    }
    return availability.length;
  }

  /**
   * After delivery, the meter head-end reports what each of its homes delivered (offer side) or
   * received (bid side) per trade; answers the number of readings.
   */
  async reportDelivery(
    windowId: string,
    deliverySlot: number,
    trades: readonly TradeRecord[],
  ): Promise<number> {
    const reading = (tradeId: string, side: 'offer' | 'bid', accountId: string, energyWh: number) => {
      const home = this.homesByAccount.get(accountId);
      if (home === undefined) {
        throw new AuctionError(
          `${this.mspId}: a trade of ${windowId} names an account the utility did not open`,
        );
      }
      const wh = meteredWh(this.seed, home.spec.index, deliverySlot, tradeId, side, energyWh);
      return { tradeId, side, energyKwh: wh / 1000 };
    };
    const readings = trades.flatMap((trade) => [
      ...(trade.sellerOrg === this.mspId
        ? [reading(trade.tradeId, 'offer', trade.sellerAccount, trade.energyWh)]
        : []),
      ...(trade.buyerOrg === this.mspId
        ? [reading(trade.tradeId, 'bid', trade.buyerAccount, trade.energyWh)]
        : []),
    ]);
    const reported = await persist(`${this.mspId}: reporting delivery of ${windowId}`, () =>
      this.call(meterOf(this.mspId), 'POST', `/v1/windows/${encodeURIComponent(windowId)}/meter-reports`, {
        readings,
      }),
    );
    if (reported.status !== 200 && !alreadyDone(reported)) {
      throw failure(`${this.mspId}: reporting delivery of ${windowId}`, reported);
    }
    return readings.length;
  }

  /** The utility admin settles its accounts of the window (once every org with trades reported). */
  async settle(windowId: string): Promise<void> {
    const settled = await persist(`${this.mspId}: settling ${windowId}`, () =>
      this.call(adminOf(this.mspId), 'POST', `/v1/windows/${encodeURIComponent(windowId)}/settlement`),
    );
    if (settled.status !== 200 && !alreadyDone(settled)) {
      throw failure(`${this.mspId}: settling ${windowId}`, settled);
    }
  }
}
