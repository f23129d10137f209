import { AuctionContract } from '../../src/contracts/auction-contract';
import { TokenContract } from '../../src/contracts/token-contract';
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

export interface Trade {
  readonly tradeId: string;
  readonly offerRef: string;
  readonly bidRef: string;
  readonly sellerAccount: string;
  readonly buyerAccount: string;
  readonly sellerOrg: string;
  readonly buyerOrg: string;
  readonly energyWh: number;
  readonly price: number;
  readonly value: string;
}

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

export interface WindowOptions {
  readonly closeInMs?: number;
  /** Time between the close and the start of delivery (revealBy). */
  readonly revealGapMs?: number;
  readonly deliveryMs?: number;
  readonly pricingRule?: string;
  readonly reportGraceSeconds?: unknown;
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
  ): Promise<Record<string, unknown>> {
    const spec = this.spec(options);
    return JSON.parse(
      await this.ledger.invoke(caller, (ctx) => this.auction.OpenTradingWindow(ctx, windowId, spec)),
    ) as Record<string, unknown>;
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
    return JSON.parse(
      await this.ledger.invoke(caller, (ctx) => this.token.Deposit(ctx, accountId, amount), { peer: org }),
    ) as Account;
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
    return this.ledger.invoke(
      options.caller ?? identities.meter(org),
      (ctx) => this.auction.PostAvailableEnergy(ctx, windowId),
      { peer: org, transient: { availability: JSON.stringify(entries) }, ...options },
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

  async reveal(windowId: string, org: string, caller = identities.relay(org)): Promise<string> {
    const refs = await this.listOrderRefs(windowId, org, caller);
    return this.ledger.invoke(caller, (ctx) => this.auction.RevealOrders(ctx, windowId), {
      peer: org,
      transient: { refs: JSON.stringify(refs) },
    });
  }

  /** ClearWindow, then the full clearing as GetClearing answers it. */
  async clear(windowId: string, caller = identities.market()): Promise<Clearing> {
    await this.clearWindow(windowId, caller);
    return this.getClearing(windowId);
  }

  async clearWindow(windowId: string, caller = identities.market()): Promise<ClearingSummary> {
    return JSON.parse(
      await this.ledger.invoke(caller, (ctx) => this.auction.ClearWindow(ctx, windowId)),
    ) as ClearingSummary;
  }

  async getClearing(windowId: string, caller = identities.auditor()): Promise<Clearing> {
    return JSON.parse(
      await this.ledger.evaluate(caller, (ctx) => this.auction.GetClearing(ctx, windowId)),
    ) as Clearing;
  }

  async audit(windowId: string, caller = identities.auditor()): Promise<Record<string, unknown>> {
    return JSON.parse(
      await this.ledger.evaluate(caller, (ctx) => this.auction.AuditClearing(ctx, windowId)),
    ) as Record<string, unknown>;
  }

  async report(
    windowId: string,
    org: string,
    readings: unknown,
    options: InvokeOptions & { caller?: TestIdentity } = {},
  ): Promise<string> {
    return this.ledger.invoke(
      options.caller ?? identities.meter(org),
      (ctx) => this.auction.ReportDelivery(ctx, windowId),
      { peer: org, transient: { readings: JSON.stringify(readings) }, ...options },
    );
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
  ): Promise<Record<string, unknown>> {
    return JSON.parse(
      await this.ledger.invoke(
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
      ),
    ) as Record<string, unknown>;
  }

  async claimGridShare(windowId: string, caller = identities.market()): Promise<Record<string, unknown>> {
    return JSON.parse(
      await this.ledger.invoke(caller, (ctx) => this.auction.ClaimGridShare(ctx, windowId)),
    ) as Record<string, unknown>;
  }

  async settle(
    windowId: string,
    org: string,
    caller = identities.relay(org),
  ): Promise<Record<string, unknown>> {
    return JSON.parse(
      await this.ledger.invoke(caller, (ctx) => this.auction.SettleWindow(ctx, windowId), { peer: org }),
    ) as Record<string, unknown>;
  }

  async getWindow(windowId: string, caller = identities.auditor()): Promise<Record<string, unknown>> {
    return JSON.parse(
      await this.ledger.evaluate(caller, (ctx) => this.auction.GetWindow(ctx, windowId)),
    ) as Record<string, unknown>;
  }

  async account(accountId: string, caller = identities.auditor()): Promise<Account> {
    return JSON.parse(
      await this.ledger.evaluate(caller, (ctx) => this.token.GetAccount(ctx, accountId)),
    ) as Account;
  }

  async myAccount(org: string, device: TestDevice): Promise<Account> {
    return JSON.parse(
      await this.ledger.evaluate(identities.relay(org), (ctx) => this.token.GetMyAccount(ctx), {
        transient: { certificate: device.pem },
      }),
    ) as Account;
  }

  /**
   * A window with one offer and one bid per utility (A sells 3 kWh at 40 and buys 2 kWh at 90; B
   * sells 2 kWh at 50 and buys 4 kWh at 70), closed but not revealed. Deposits 1 currency per buyer.
   */
  async tradingWindow(
    windowId: string,
    pricingRule?: string,
    options: WindowOptions = {},
  ): Promise<Record<string, TestDevice>> {
    const devices = {
      sellerA: await this.device(UTILITY_A, 'bus-1'),
      buyerA: await this.device(UTILITY_A, 'bus-1'),
      sellerB: await this.device(UTILITY_B, 'bus-1'),
      buyerB: await this.device(UTILITY_B, 'bus-1'),
    };
    await this.openWindow(windowId, pricingRule === undefined ? options : { ...options, pricingRule });
    await this.deposit(UTILITY_A, devices.buyerA.homeId, '1');
    await this.deposit(UTILITY_B, devices.buyerB.homeId, '1');
    await this.openAccount(UTILITY_A, devices.sellerA.homeId);
    await this.openAccount(UTILITY_B, devices.sellerB.homeId);
    await this.postAvailability(UTILITY_A, windowId, [{ homeId: devices.sellerA.homeId, energyKwh: 3 }]);
    await this.postAvailability(UTILITY_B, windowId, [{ homeId: devices.sellerB.homeId, energyKwh: 2 }]);
    await this.submitOrder(UTILITY_A, devices.sellerA, {
      windowId,
      side: 'offer',
      energyKwh: 3,
      limitPrice: 40,
    });
    await this.submitOrder(UTILITY_B, devices.sellerB, {
      windowId,
      side: 'offer',
      energyKwh: 2,
      limitPrice: 50,
    });
    await this.submitOrder(UTILITY_A, devices.buyerA, {
      windowId,
      side: 'bid',
      energyKwh: 2,
      limitPrice: 90,
      escrow: '0.5',
    });
    await this.submitOrder(UTILITY_B, devices.buyerB, {
      windowId,
      side: 'bid',
      energyKwh: 4,
      limitPrice: 70,
      escrow: '0.5',
    });
    this.ledger.advance(15 * MINUTE);
    return devices;
  }

  private records(type: string): Record<string, unknown>[] {
    return [...this.ledger.state]
      .filter(([key]) => key.startsWith(`\u0000${type}\u0000`))
      .map(([, value]) => JSON.parse(value.toString('utf8')) as Record<string, unknown>);
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
