import type { TradeRecord } from '@hems/protocol';
import { AuctionContract } from '../../src/auction/auction-contract';
import type { HemsContext } from '../../src/lib/context';
import { TokenContract } from '../../src/token/token-contract';
import type { SealedOrderChecks } from '@hems/protocol';
import { identities, type InvokeOptions, type TestIdentity } from './fake-ledger';
import { freshNonce, signPayload, type TestDevice } from './pki';
import { MINUTE, Scenario, UTILITY_A, UTILITY_B } from './scenario';

export interface OrderInput {
  readonly windowId: string;
  readonly side: unknown;
  readonly energyKwh: unknown;
  readonly limitPrice: unknown;
  readonly escrow?: unknown;
  readonly nonce?: unknown;
}

/** A transaction's answer, parsed: a record with what is derived from it. */
export type Answer = Record<string, unknown>;

/** A trade as GetClearing answers it. */
export type Trade = TradeRecord;

export interface Clearing {
  readonly pricingRule: string;
  readonly clearingPrice: number | null;
  readonly orders: number;
  readonly trades: Trade[];
  readonly totals: { offeredWh: number; bidWh: number; tradedWh: number; value: string };
  readonly excludedOrgs: string[];
  readonly droppedRevoked: number;
}

/** What ClearWindow answers: a summary (the clearing itself is read with GetClearing). */
export interface ClearingSummary {
  readonly windowId: string;
  readonly pricingRule: string;
  readonly clearingPrice: number | null;
  readonly trades: number;
  readonly tradedWh: number;
  readonly excludedOrgs: string[];
  readonly droppedRevoked: number;
  readonly checks?: SealedOrderChecks;
  readonly clearedAt: string;
  readonly txId: string;
}

export interface Account {
  readonly accountId: string;
  readonly mspId: string;
  readonly balance: string;
  readonly escrowed: string;
  readonly escrows: Record<string, string>;
}

export interface Pool {
  readonly amount: string;
  readonly charged: string;
  readonly paid: string;
  readonly toGrid: string;
}

/** One home's order for `placeOrders`. */
export interface PlacedOrder {
  readonly org: string;
  readonly device: TestDevice;
  readonly side: 'offer' | 'bid';
  readonly energyKwh: number;
  readonly limitPrice: number;
  /** A bid's escrow. */
  readonly escrow?: string;
  /** What a buyer's account gets first, in currency; 1 unless given. */
  readonly deposit?: string;
}

export interface WindowOptions {
  readonly closeInMs?: number;
  /** Time between the close and the start of delivery (revealBy). */
  readonly revealGapMs?: number;
  readonly deliveryMs?: number;
  readonly pricingRule?: string;
  readonly reportGraceSeconds?: unknown;
}

/** The four homes of `tradingWindow`: a seller and a buyer at each utility. */
export interface TradingDevices {
  readonly sellerA: TestDevice;
  readonly buyerA: TestDevice;
  readonly sellerB: TestDevice;
  readonly buyerB: TestDevice;
}

/** 1 currency in value units. */
export const CURRENCY = 10n ** 10n;

/** The timeslot scenario plus the auction and token contracts, and a helper for each auction step. */
export class AuctionScenario extends Scenario {
  readonly auction = new AuctionContract();
  readonly token = new TokenContract();

  /**
   * A window closing in 15 minutes, delivering from the close (or `revealGapMs` later: the
   * utilities' time to reveal) for 15 minutes.
   */
  spec(options: WindowOptions = {}): string {
    const closesAt = new Date(this.ledger.now.getTime() + (options.closeInMs ?? 15 * MINUTE));
    const deliveryStart = new Date(closesAt.getTime() + (options.revealGapMs ?? 0));
    const deliveryEnd = new Date(deliveryStart.getTime() + (options.deliveryMs ?? 15 * MINUTE));
    return JSON.stringify({
      deliverySlotId: 'slot-1',
      deliveryStart: deliveryStart.toISOString(),
      deliveryEnd: deliveryEnd.toISOString(),
      closesAt: closesAt.toISOString(),
      ...(options.pricingRule === undefined ? {} : { pricingRule: options.pricingRule }),
      ...(options.reportGraceSeconds === undefined ? {} : { reportGraceSeconds: options.reportGraceSeconds }),
    });
  }

  async openWindow(
    windowId: string,
    options: WindowOptions = {},
    caller: TestIdentity = identities.market(),
  ): Promise<Answer> {
    const spec = this.spec(options);
    return this.ledger.invokeJson<Answer>(caller, (ctx) =>
      this.auction.OpenTradingWindow(ctx, windowId, spec),
    );
  }

  /** The utility admin's lookup of a home's account id, on its own peer. */
  async accountIdOf(org: string, homeId: string, caller = identities.admin(org)): Promise<string> {
    const answer = await this.ledger.evaluate(caller, (ctx) => this.token.GetAccountId(ctx), {
      peer: org,
      transient: { homeId },
    });
    return (JSON.parse(answer) as { accountId: string }).accountId;
  }

  /**
   * What the admin's gateway does: looks the account id up on its own peer, then submits Deposit
   * endorsed by its own peer among the majority (the executing peer here is the admin's).
   */
  async deposit(
    org: string,
    homeId: string,
    amount: string,
    caller = identities.admin(org),
  ): Promise<Account> {
    const accountId = await this.accountIdOf(org, homeId);
    return this.ledger.invokeJson<Account>(caller, (ctx) => this.token.Deposit(ctx, accountId, amount), {
      peer: org,
    });
  }

  /** Opens the home's account with a deposit of 0 (a prosumer needs one to offer and be paid). */
  async openAccount(org: string, homeId: string): Promise<Account> {
    return this.deposit(org, homeId, '0');
  }

  async postAvailability(
    org: string,
    windowId: string,
    entries: unknown,
    options: InvokeOptions & { caller?: TestIdentity } = {},
  ): Promise<string> {
    return this.asMeter(
      org,
      (ctx) => this.auction.PostAvailableEnergy(ctx, windowId),
      { availability: entries },
      options,
    );
  }

  signOrder(
    device: TestDevice,
    order: OrderInput,
  ): { payload: Buffer; signature: Buffer; certificate: string } {
    const payload = Buffer.from(
      JSON.stringify({
        windowId: order.windowId,
        side: order.side,
        energyKwh: order.energyKwh,
        limitPrice: order.limitPrice,
        escrow: order.escrow ?? '0',
        nonce: order.nonce ?? freshNonce(),
      }),
    );
    return signPayload(device, payload);
  }

  async submitOrder(
    org: string,
    device: TestDevice,
    order: OrderInput,
    options: InvokeOptions & { caller?: TestIdentity; argWindowId?: string } = {},
  ): Promise<string> {
    const signed = this.signOrder(device, order);
    return this.submitSigned(org, signed, options.argWindowId ?? order.windowId, options);
  }

  async submitSigned(
    org: string,
    signed: { payload: Buffer; signature: Buffer; certificate: string },
    windowId: string,
    options: InvokeOptions & { caller?: TestIdentity } = {},
  ): Promise<string> {
    return this.ledger.invoke(
      options.caller ?? identities.relay(org),
      (ctx) => this.auction.SubmitOrder(ctx, windowId),
      { peer: org, transient: { ...signed }, ...options },
    );
  }

  async cancelOrder(
    org: string,
    device: TestDevice,
    windowId: string,
    options: InvokeOptions & { caller?: TestIdentity; nonce?: string } = {},
  ): Promise<string> {
    const signed = signPayload(
      device,
      Buffer.from(JSON.stringify({ windowId, action: 'cancel', nonce: options.nonce ?? freshNonce() })),
    );
    return this.ledger.invoke(
      options.caller ?? identities.relay(org),
      (ctx) => this.auction.CancelOrder(ctx, windowId),
      { peer: org, transient: { ...signed }, ...options },
    );
  }

  async listOrderRefs(windowId: string, org: string, caller = identities.relay(org)): Promise<string[]> {
    const listed = await this.ledger.evaluate(caller, (ctx) => this.auction.ListOrderRefs(ctx, windowId), {
      peer: org,
    });
    return (JSON.parse(listed) as { refs: string[] }).refs;
  }

  /** ListOrderRefs on the utility's own peer: its order references and the commitment to them. */
  async orderCommitment(
    windowId: string,
    org: string,
    caller = identities.relay(org),
  ): Promise<{ refs: string[]; count: number; digest: string }> {
    const listed = await this.ledger.evaluate(caller, (ctx) => this.auction.ListOrderRefs(ctx, windowId), {
      peer: org,
    });
    return JSON.parse(listed) as { refs: string[]; count: number; digest: string };
  }

  /**
   * CommitOrders as a utility gateway makes it: the commitment from its own peer, then the
   * majority-endorsed commitment, by default stamped one second before the window's close.
   */
  async commit(
    windowId: string,
    org: string,
    options: { at?: Date; count?: number; digest?: string; caller?: TestIdentity } = {},
  ): Promise<Answer> {
    const caller = options.caller ?? identities.relay(org);
    const listed = await this.orderCommitment(windowId, org);
    const window = await this.getWindow(windowId);
    const at = options.at ?? new Date(Date.parse(window.closesAt as string) - 1000);
    return this.ledger.invokeJson<Answer>(
      caller,
      (ctx) =>
        this.auction.CommitOrders(
          ctx,
          windowId,
          String(options.count ?? listed.count),
          options.digest ?? listed.digest,
        ),
      { at },
    );
  }

  /** Every utility commits to its orders of the window (A, then B), stamped now. */
  async commitAll(windowId: string): Promise<void> {
    for (const org of [UTILITY_A, UTILITY_B]) {
      await this.commit(windowId, org, { at: this.ledger.now });
    }
  }

  /** Whether `org` has committed to its orders of the window (read from public state). */
  hasCommitted(windowId: string, org: string): boolean {
    return [...this.ledger.state.keys()].some(
      (key) => key === `\u0000hems.windowcommit\u0000${windowId}\u0000${org}\u0000`,
    );
  }

  /**
   * RevealOrders as the utility gateway makes it; a utility that has not committed commits first,
   * stamped just before the close (as its gateway would have, ahead of the close).
   */
  async reveal(windowId: string, org: string, caller = identities.relay(org)): Promise<string> {
    const window = await this.getWindow(windowId);
    if (window.requiresCommitments === true && !this.hasCommitted(windowId, org)) {
      await this.commit(windowId, org);
    }
    const refs = await this.listOrderRefs(windowId, org, caller);
    return this.ledger.invoke(caller, (ctx) => this.auction.RevealOrders(ctx, windowId), {
      peer: org,
      transient: { refs: JSON.stringify(refs) },
    });
  }

  /** Every utility reveals its orders of the window (A, then B). */
  async revealAll(windowId: string): Promise<void> {
    for (const org of [UTILITY_A, UTILITY_B]) {
      await this.reveal(windowId, org);
    }
  }

  /** `tradingWindow` (without a pricing rule of its own), revealed by both utilities and cleared. */
  async clearedTradingWindow(
    windowId: string,
    options: WindowOptions = {},
  ): Promise<{ devices: TradingDevices; clearing: Clearing }> {
    const devices = await this.tradingWindow(windowId, undefined, options);
    await this.revealAll(windowId);
    return { devices, clearing: await this.clear(windowId) };
  }

  /** ClearWindow, then the full clearing as GetClearing answers it. */
  async clear(windowId: string, caller = identities.market()): Promise<Clearing> {
    await this.clearWindow(windowId, caller);
    return this.getClearing(windowId);
  }

  async clearWindow(windowId: string, caller = identities.market()): Promise<ClearingSummary> {
    return this.ledger.invokeJson<ClearingSummary>(caller, (ctx) => this.auction.ClearWindow(ctx, windowId));
  }

  async getClearing(windowId: string, caller = identities.auditor()): Promise<Clearing> {
    return this.ledger.evaluateJson<Clearing>(caller, (ctx) => this.auction.GetClearing(ctx, windowId));
  }

  async audit(windowId: string, caller = identities.auditor()): Promise<Answer> {
    return this.ledger.evaluateJson<Answer>(caller, (ctx) => this.auction.AuditClearing(ctx, windowId));
  }

  async report(
    windowId: string,
    org: string,
    readings: unknown,
    options: InvokeOptions & { caller?: TestIdentity } = {},
  ): Promise<string> {
    return this.asMeter(org, (ctx) => this.auction.ReportDelivery(ctx, windowId), { readings }, options);
  }

  /**
   * What a utility's meter head-end submits on its own peer: `data` as JSON transient fields
   * (`options.caller` instead of the meter head-end for refusal tests).
   */
  private async asMeter(
    org: string,
    call: (ctx: HemsContext) => Promise<string>,
    data: Record<string, unknown>,
    options: InvokeOptions & { caller?: TestIdentity },
  ): Promise<string> {
    const transient = Object.fromEntries(
      Object.entries(data).map(([name, value]) => [name, JSON.stringify(value)]),
    );
    return this.ledger.invoke(options.caller ?? identities.meter(org), call, {
      peer: org,
      transient,
      ...options,
    });
  }

  /** Readings of every trade side of `org`, each `fraction` of the traded energy. */
  fullReadings(
    trades: readonly Trade[],
    org: string,
    fraction = 1,
  ): { tradeId: string; side: string; energyKwh: number }[] {
    const readings: { tradeId: string; side: string; energyKwh: number }[] = [];
    for (const trade of trades) {
      if (trade.sellerOrg === org) {
        readings.push({
          tradeId: trade.tradeId,
          side: 'offer',
          energyKwh: Math.floor(trade.energyWh * fraction) / 1000,
        });
      }
      if (trade.buyerOrg === org) {
        readings.push({ tradeId: trade.tradeId, side: 'bid', energyKwh: trade.energyWh / 1000 });
      }
    }
    return readings;
  }

  /** ReleaseEscrow on the utility's own peer alone (its accounts' and record's policies name it). */
  async releaseEscrow(
    windowId: string,
    org: string,
    options: InvokeOptions & { caller?: TestIdentity; accounts?: readonly string[] } = {},
  ): Promise<Answer> {
    return this.ledger.invokeJson<Answer>(
      options.caller ?? identities.relay(org),
      (ctx) => this.auction.ReleaseEscrow(ctx, windowId),
      {
        peer: org,
        endorsement: 'single',
        ...(options.accounts === undefined
          ? {}
          : { transient: { accounts: JSON.stringify(options.accounts) } }),
        ...options,
      },
    );
  }

  async claimGridShare(windowId: string, caller = identities.market()): Promise<Answer> {
    return this.ledger.invokeJson<Answer>(caller, (ctx) => this.auction.ClaimGridShare(ctx, windowId));
  }

  async closeReports(windowId: string, caller = identities.market()): Promise<Answer> {
    return this.ledger.invokeJson<Answer>(caller, (ctx) => this.auction.CloseDeliveryReports(ctx, windowId));
  }

  async settle(windowId: string, org: string, caller = identities.relay(org)): Promise<Answer> {
    return this.ledger.invokeJson<Answer>(caller, (ctx) => this.auction.SettleWindow(ctx, windowId), {
      peer: org,
    });
  }

  async getWindow(windowId: string, caller = identities.auditor()): Promise<Answer> {
    return this.ledger.evaluateJson<Answer>(caller, (ctx) => this.auction.GetWindow(ctx, windowId));
  }

  async account(accountId: string, caller = identities.auditor()): Promise<Account> {
    return this.ledger.evaluateJson<Account>(caller, (ctx) => this.token.GetAccount(ctx, accountId));
  }

  async myAccount(org: string, device: TestDevice): Promise<Account> {
    return this.ledger.evaluateJson<Account>(identities.relay(org), (ctx) => this.token.GetMyAccount(ctx), {
      transient: { certificate: device.pem },
    });
  }

  /**
   * Sets up the orders of a window: opens the homes' accounts (a buyer's with a deposit, of 1
   * currency unless given), posts each seller's offered energy as its available energy (one post per utility),
   * then submits the orders in the order given.
   */
  async placeOrders(windowId: string, orders: readonly PlacedOrder[]): Promise<void> {
    for (const { org, device, side, deposit } of orders) {
      await (side === 'bid'
        ? this.deposit(org, device.homeId, deposit ?? '1')
        : this.openAccount(org, device.homeId));
    }
    const offers = orders.filter((order) => order.side === 'offer');
    for (const org of new Set(offers.map((offer) => offer.org))) {
      const available = offers
        .filter((offer) => offer.org === org)
        .map((offer) => ({ homeId: offer.device.homeId, energyKwh: offer.energyKwh }));
      await this.postAvailability(org, windowId, available);
    }
    for (const { org, device, side, energyKwh, limitPrice, escrow } of orders) {
      const order = { windowId, side, energyKwh, limitPrice };
      await this.submitOrder(org, device, escrow === undefined ? order : { ...order, escrow });
    }
  }

  /**
   * A window with one offer and one bid per utility (A sells 3 kWh at 40 and buys 2 kWh at 90; B
   * sells 2 kWh at 50 and buys 4 kWh at 70), closed but not revealed. Deposits 1 currency per buyer.
   */
  async tradingWindow(
    windowId: string,
    pricingRule?: string,
    options: WindowOptions = {},
  ): Promise<TradingDevices> {
    const devices: TradingDevices = {
      sellerA: await this.device(UTILITY_A, 'bus-1'),
      buyerA: await this.device(UTILITY_A, 'bus-1'),
      sellerB: await this.device(UTILITY_B, 'bus-1'),
      buyerB: await this.device(UTILITY_B, 'bus-1'),
    };
    await this.openWindow(windowId, pricingRule === undefined ? options : { ...options, pricingRule });
    await this.placeOrders(windowId, [
      { org: UTILITY_A, device: devices.sellerA, side: 'offer', energyKwh: 3, limitPrice: 40 },
      { org: UTILITY_B, device: devices.sellerB, side: 'offer', energyKwh: 2, limitPrice: 50 },
      { org: UTILITY_A, device: devices.buyerA, side: 'bid', energyKwh: 2, limitPrice: 90, escrow: '0.5' },
      { org: UTILITY_B, device: devices.buyerB, side: 'bid', energyKwh: 4, limitPrice: 70, escrow: '0.5' },
    ]);
    // Both utility gateways commit to their orders ahead of the close.
    await this.commitAll(windowId);
    this.ledger.advance(15 * MINUTE);
    return devices;
  }

  private records(type: string): Answer[] {
    return [...this.ledger.state]
      .filter(([key]) => key.startsWith(`\u0000${type}\u0000`))
      .map(([, value]) => JSON.parse(value.toString('utf8')) as Answer);
  }

  /** The pool of every window not yet paid out, derived from public state as GetWindow does. */
  private unclaimedPools(): bigint {
    const windows = new Map(this.records('hems.window').map((window) => [window.windowId as string, window]));
    let total = 0n;
    for (const record of this.records('hems.windoworg')) {
      total += BigInt(record.charged as string) - BigInt(record.paid as string);
    }
    for (const window of windows.values()) {
      total -= BigInt((window.gridShare as string | undefined) ?? '0');
    }
    return total;
  }

  /** Σ balances + Σ escrowed + Σ unclaimed pools, straight from the ledger's public state. */
  totalTokens(): bigint {
    let total = this.unclaimedPools();
    for (const record of this.records('hems.account')) {
      total += BigInt(record.balance as string) + BigInt(record.escrowed as string);
    }
    return total;
  }

  /**
   * Checks that no balance, escrow or pool is negative, that each account's escrowed sums its
   * escrows, that home accounts carry a key-level policy naming only their utility's peer and
   * the grid account none.
   */
  ledgerInvariants(): string[] {
    const problems: string[] = [];
    for (const [key, value] of this.ledger.state) {
      if (!key.startsWith('\u0000hems.account\u0000')) {
        continue;
      }
      const record = JSON.parse(value.toString('utf8')) as Account;
      const escrows = Object.values(record.escrows).map((amount) => BigInt(amount));
      if (BigInt(record.balance) < 0n || escrows.some((amount) => amount <= 0n)) {
        problems.push(`negative balance or non-positive escrow in ${record.accountId}`);
      }
      if (escrows.reduce((a, b) => a + b, 0n) !== BigInt(record.escrowed)) {
        problems.push(`escrowed of ${record.accountId} differs from its escrows`);
      }
      const policy = this.ledger.keyPolicyOrgs(key);
      const expected = record.accountId.startsWith('grid:') ? undefined : [record.mspId];
      if (JSON.stringify(policy) !== JSON.stringify(expected)) {
        problems.push(`account ${record.accountId} has the key-level policy ${JSON.stringify(policy)}`);
      }
    }
    if (this.unclaimedPools() < 0n) {
      problems.push('negative pool');
    }
    return problems;
  }
}
