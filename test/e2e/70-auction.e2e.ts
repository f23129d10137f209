import { connectAs, loadNetworkDescription, type NetworkDescription } from '@hems/network-client';
import { ORDER_COMMIT_LEAD_MS } from '@hems/protocol';
import { expect } from 'chai';
import { GatewayApiError, type HemsClient, type OrderSpec, type SignedOrder } from '@hems/device-client';
import { GatewayProcesses, callGateway, type ApiResponse } from '@hems/testkit';
import type { WindowPool } from '../../scripts/day/window-result';
import { UTILITY_A, UTILITY_B } from './support/actors';
import { fetchBlocks } from './support/blocks';
import {
  adminOf,
  AUDITOR,
  DSO_OPERATOR,
  MARKET,
  meterOf,
  sampleDeviceClient,
  sleep,
  useE2eGatewayPorts,
  type Caller,
} from './support/gateways';
import { batchWait } from './support/batched-devices';
import { E2E_STATE_DIR } from './support/network';

useE2eGatewayPorts();

/** How long UtilityA's gateway lets the first order of a batch wait for others. */
const ORDER_BATCH_WAIT_MS = 400;

/** Value units (1e-10 currency) per currency, as the token ledger keeps balances. */
const VALUE_UNITS = 10n ** 10n;

interface Device {
  readonly name: string;
  readonly mspId: string;
  readonly homeId: string;
  readonly client: HemsClient;
  accountId?: string;
}

interface Trade {
  readonly tradeId: string;
  readonly sellerAccount: string;
  readonly buyerAccount: string;
  readonly energyWh: number;
  readonly price: number;
  readonly value: string;
}

interface Account {
  readonly accountId: string;
  readonly mspId: string;
  readonly balance: string;
  readonly escrowed?: string;
  readonly escrows?: Readonly<Record<string, string>>;
}

interface WindowPart {
  readonly org: string;
  readonly charged: string;
  readonly paid: string;
  readonly refunded: string;
  readonly revealed?: { readonly count: number; readonly revealedAt: string; readonly txId: string };
  readonly released?: { readonly releasedAt: string; readonly txId: string };
}

interface WindowView {
  readonly status: string;
  readonly parts: readonly WindowPart[];
  readonly pool: WindowPool;
  readonly gridShare?: string;
}

function sampleDevice(description: NetworkDescription, mspId: string, name: string): Device {
  const { attributes, client } = sampleDeviceClient(description, mspId, name);
  return { name, mspId, homeId: attributes['hems.home'] ?? '', client };
}

function expectStatus(response: ApiResponse, status: number): void {
  expect(response.status, JSON.stringify(response.body)).to.equal(status);
}

/** The refusal a client call ends with. */
async function refusalOf(call: Promise<unknown>): Promise<GatewayApiError> {
  const error = await call.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error, 'the gateway refused').to.be.instanceOf(GatewayApiError);
  return error as GatewayApiError;
}

/** What POST /v1/windows/{id}/clearing answers: a summary; the trades are in the window's clearing. */
interface ClearingSummary {
  readonly windowId: string;
  readonly trades: number;
  readonly tradedWh: number;
  readonly excludedOrgs: readonly string[];
  readonly droppedRevoked: number;
}

/** The trades of the clearing GET /v1/windows/{id} includes once the window is cleared. */
function tradesOf(window: unknown): Trade[] {
  const trades = (window as { clearing?: { trades?: unknown } } | null)?.clearing?.trades;
  expect(trades, `trades in ${JSON.stringify(window)}`).to.be.an('array');
  return trades as Trade[];
}

type Who = Caller | undefined;

/** The devices of the window, each with its part to play. */
interface Actors {
  readonly sellerA: Device;
  readonly buyerA: Device;
  readonly cancellerA: Device;
  readonly greedyA: Device;
  readonly sellerB: Device;
  readonly buyerB: Device;
  readonly brokeB: Device;
}

/** The window under test, its actors, and calls at the gateways. */
interface WindowRun {
  readonly windowId: string;
  readonly closesAt: Date;
  readonly deliveryEnd: Date;
  readonly actors: Actors;
  readonly description: NetworkDescription;
  /** A request as `who` at the gateway of `mspId`. */
  call<T = unknown>(
    mspId: string,
    who: Who,
    method: string,
    path: string,
    body?: unknown,
  ): Promise<ApiResponse<T>>;
  /** A request to the window's own resource (`suffix` after /v1/windows/{id}). */
  callWindow<T = unknown>(
    mspId: string,
    who: Who,
    method: string,
    suffix: string,
    body?: unknown,
  ): Promise<ApiResponse<T>>;
  auditorGet<T>(path: string): Promise<ApiResponse<T>>;
  /** The window as the auditor reads it. */
  windowView(): Promise<WindowView>;
}

function windowRun(description: NetworkDescription, actors: Actors): WindowRun {
  // A window closing in two minutes; delivery right after, short.
  const windowId = `auction-${Date.now().toString(36)}`;
  const closesAt = new Date(Date.now() + 120_000);
  const deliveryEnd = new Date(closesAt.getTime() + 15_000);
  const call = <T>(mspId: string, who: Who, method: string, path: string, body?: unknown) =>
    callGateway<T>(description, mspId, who, method, path, body);
  const auditorGet = <T>(path: string): Promise<ApiResponse<T>> =>
    call<T>('RegulatorMSP', AUDITOR, 'GET', path);
  return {
    windowId,
    closesAt,
    deliveryEnd,
    actors,
    description,
    call,
    callWindow: (mspId, who, method, suffix, body) =>
      call(mspId, who, method, `/v1/windows/${windowId}${suffix}`, body),
    auditorGet,
    windowView: async () => {
      const response = await auditorGet<WindowView>(`/v1/windows/${windowId}`);
      expectStatus(response, 200);
      return response.body;
    },
  };
}

async function openWindow(run: WindowRun): Promise<void> {
  const { windowId, closesAt, deliveryEnd } = run;
  const opened = await run.call('DSOMSP', MARKET, 'POST', '/v1/windows', {
    windowId,
    deliverySlotId: `slot-${windowId}`,
    deliveryStart: closesAt.toISOString(),
    deliveryEnd: deliveryEnd.toISOString(),
    closesAt: closesAt.toISOString(),
    pricingRule: 'pay-as-clear',
  });
  expectStatus(opened, 201);
  expect((await run.actors.buyerA.client.getWindow(windowId)).status).to.equal('OPEN');
  // Opening is the market operator's: a DSO operator without the market role is refused.
  const notMarket = await run.call('DSOMSP', DSO_OPERATOR, 'POST', '/v1/windows', {
    windowId: `${windowId}-x`,
    deliverySlotId: 's',
    deliveryStart: closesAt.toISOString(),
    deliveryEnd: deliveryEnd.toISOString(),
    closesAt: closesAt.toISOString(),
  });
  expectStatus(notMarket, 403);
}

/** Each holder's utility admin opens a zero account for it; the answer never names the home. */
async function openZeroAccounts(run: WindowRun, holders: readonly Device[]): Promise<void> {
  await Promise.all(
    holders.map(async (holder) => {
      const response = await run.call<Account>(holder.mspId, adminOf(holder.mspId), 'POST', '/v1/accounts', {
        homeId: holder.homeId,
      });
      expectStatus(response, 201);
      expect(response.body.accountId).to.match(/^acct-[0-9a-f]{32}$/);
      expect(response.body.mspId).to.equal(holder.mspId);
      expect(BigInt(response.body.balance)).to.equal(0n);
      expect(JSON.stringify(response.body)).to.not.include(holder.homeId);
      holder.accountId = response.body.accountId;
    }),
  );
  // Opening an existing account again is refused; so is another utility's admin.
  const reopened = await run.call<{ code: string }>(UTILITY_A, adminOf(UTILITY_A), 'POST', '/v1/accounts', {
    homeId: run.actors.sellerA.homeId,
  });
  expectStatus(reopened, 409);
  expect(reopened.body.code).to.equal('CONFLICT');
  expectStatus(
    await run.call(UTILITY_A, adminOf(UTILITY_B), 'POST', '/v1/accounts/deposits', {
      homeId: run.actors.buyerA.homeId,
      amount: 1,
    }),
    403,
  );
}

/** Each holder's utility admin deposits its amount, currency. */
async function deposit(run: WindowRun, deposits: ReadonlyMap<Device, bigint>): Promise<void> {
  await Promise.all(
    [...deposits].map(async ([holder, amount]) => {
      const deposited = await run.call<Account>(
        holder.mspId,
        adminOf(holder.mspId),
        'POST',
        '/v1/accounts/deposits',
        {
          homeId: holder.homeId,
          amount: Number(amount),
        },
      );
      expectStatus(deposited, 201);
      expect(BigInt(deposited.body.balance)).to.equal(amount * VALUE_UNITS);
      expect(JSON.stringify(deposited.body)).to.not.include(holder.homeId);
    }),
  );
}

/** Each device reads its own account: the id its utility opened, with what was deposited. */
async function expectOwnAccounts(
  holders: readonly Device[],
  deposits: ReadonlyMap<Device, bigint>,
): Promise<void> {
  for (const holder of holders) {
    const account = await holder.client.getMyAccount();
    expect(account.accountId).to.match(/^acct-[0-9a-f]{32}$/);
    expect(BigInt(account.balance), holder.name).to.equal((deposits.get(holder) ?? 0n) * VALUE_UNITS);
    if (holder.accountId !== undefined) {
      expect(account.accountId).to.equal(holder.accountId);
    }
    holder.accountId = account.accountId;
  }
}

/** The Deposit transactions were endorsed by a majority with the utility's own peer among them. */
async function expectDepositEndorsed(run: WindowRun, holder: Device): Promise<void> {
  const history = await run.auditorGet<{ entries: { txId: string }[] }>(
    `/v1/accounts/${holder.accountId ?? ''}/history`,
  );
  expectStatus(history, 200);
  const depositTx = await run.auditorGet<{ endorsingOrganizations: string[]; function: string }>(
    `/v1/audit/transactions/${history.body.entries[0]?.txId ?? ''}`,
  );
  expectStatus(depositTx, 200);
  expect(depositTx.body.endorsingOrganizations).to.include(holder.mspId);
  expect(depositTx.body.endorsingOrganizations.length).to.be.at.least(3);
}

/**
 * Tokens are conserved: Σ (balance + escrowed) of the test's accounts + the window's pool + what
 * the grid account gained stays the sum of the deposits.
 */
interface TokenBook {
  gridGain(): Promise<bigint>;
  expectConserved(when: string): Promise<void>;
}

async function tokenBook(
  run: WindowRun,
  holders: readonly Device[],
  deposits: ReadonlyMap<Device, bigint>,
): Promise<TokenBook> {
  const gridBefore = await run.auditorGet<Account>('/v1/accounts/grid:DSOMSP');
  const gridBalanceBefore = gridBefore.status === 200 ? BigInt(gridBefore.body.balance) : 0n;
  const totalDeposited = [...deposits.values()].reduce((sum, amount) => sum + amount * VALUE_UNITS, 0n);
  const holdings = async (): Promise<bigint> => {
    let sum = 0n;
    for (const holder of holders) {
      const account = await run.auditorGet<Account>(`/v1/accounts/${holder.accountId ?? ''}`);
      expectStatus(account, 200);
      sum += BigInt(account.body.balance) + BigInt(account.body.escrowed ?? '0');
    }
    return sum;
  };
  const gridGain = async (): Promise<bigint> => {
    const grid = await run.auditorGet<Account>('/v1/accounts/grid:DSOMSP');
    return grid.status === 200 ? BigInt(grid.body.balance) - gridBalanceBefore : 0n;
  };
  return {
    gridGain,
    expectConserved: async (when) => {
      const pool = BigInt((await run.windowView()).pool.amount);
      expect((await holdings()) + pool + (await gridGain()), `tokens conserved ${when}`).to.equal(
        totalDeposited,
      );
    },
  };
}

/** Available energy from each utility's meter head-end; never at another utility's gateway. */
async function postAvailability(run: WindowRun): Promise<void> {
  const { sellerA, greedyA, sellerB } = run.actors;
  const availability = await Promise.all([
    run.callWindow(UTILITY_A, meterOf(UTILITY_A), 'POST', '/available-energy', {
      availability: [
        { homeId: sellerA.homeId, energyKwh: 5 },
        { homeId: greedyA.homeId, energyKwh: 1 },
      ],
    }),
    run.callWindow(UTILITY_B, meterOf(UTILITY_B), 'POST', '/available-energy', {
      availability: [{ homeId: sellerB.homeId, energyKwh: 4 }],
    }),
  ]);
  availability.forEach((response) => expectStatus(response, 200));
  // A meter head-end cannot post at another utility's gateway.
  const foreignMeter = await run.callWindow(UTILITY_A, meterOf(UTILITY_B), 'POST', '/available-energy', {
    availability: [{ homeId: sellerB.homeId, energyKwh: 4 }],
  });
  expectStatus(foreignMeter, 403);
}

/** The devices' sealed orders; answers every signed order submitted. */
async function placeOrders(run: WindowRun): Promise<SignedOrder[]> {
  const { windowId } = run;
  const { sellerA, sellerB, buyerA, buyerB, cancellerA, greedyA } = run.actors;
  const signed: SignedOrder[] = [];
  const order = async (holder: Device, spec: OrderSpec): Promise<string> => {
    const orderSigned = holder.client.signOrder(windowId, spec);
    signed.push(orderSigned);
    const receipt = await holder.client.submitSignedOrder(orderSigned);
    expect(receipt.windowId).to.equal(windowId);
    return receipt.txId;
  };
  // UtilityA's seller first offers 2 kWh at 50, then replaces it with 3 kWh at 40.
  await order(sellerA, { side: 'offer', energyKwh: 2, limitPrice: 50 });
  // UtilityA's gateway batches what arrives together: three good orders and one above its
  // posted availability share one SubmitOrders, and only the bad one is refused.
  const [replaced, bought, toCancel, greedy] = await Promise.all([
    order(sellerA, { side: 'offer', energyKwh: 3, limitPrice: 40 }),
    order(buyerA, { side: 'bid', energyKwh: 3, limitPrice: 80 }),
    order(cancellerA, { side: 'bid', energyKwh: 1, limitPrice: 90 }),
    refusalOf(greedyA.client.submitOrder(windowId, { side: 'offer', energyKwh: 2, limitPrice: 45 })),
    order(sellerB, { side: 'offer', energyKwh: 4, limitPrice: 60 }),
    order(buyerB, { side: 'bid', energyKwh: 2, limitPrice: 70, escrow: 1 }),
  ]);
  expect(greedy).to.include({ statusCode: 409, code: 'FAILED_PRECONDITION' });
  expect(greedy.message).to.match(/offer exceeds the available energy/);
  expect(new Set([replaced, bought, toCancel, greedy.transactionId]).size, 'one batch').to.equal(1);
  const batch = await run.auditorGet<{ function: string; endorsingOrganizations: string[] }>(
    `/v1/audit/transactions/${replaced}`,
  );
  expectStatus(batch, 200);
  expect(batch.body.function).to.match(/SubmitOrders$/);
  expect(batch.body.endorsingOrganizations).to.deep.equal([UTILITY_A]);
  return signed;
}

/** Orders the window refuses, and a cancelled bid whose escrow comes back. */
async function expectOrderRefusalsAndEscrows(run: WindowRun): Promise<void> {
  const { windowId } = run;
  const { brokeB, cancellerA, buyerA } = run.actors;
  // A bid whose escrow the (zero) balance does not cover.
  const broke = await refusalOf(
    brokeB.client.submitOrder(windowId, { side: 'bid', energyKwh: 1, limitPrice: 75 }),
  );
  expect(broke.statusCode).to.equal(409);
  expect(broke.message).to.match(/balance does not cover the escrow/);
  // The cancelled bid's escrow comes back at once.
  const escrowed = await cancellerA.client.getMyAccount();
  expect(BigInt(escrowed.balance) < 50n * VALUE_UNITS, 'the bid escrowed part of the balance').to.equal(true);
  const cancelled = await cancellerA.client.cancelOrder(windowId);
  expect(cancelled.windowId).to.equal(windowId);
  expect(BigInt((await cancellerA.client.getMyAccount()).balance)).to.equal(50n * VALUE_UNITS);
  // The bids' escrows are public amounts per window on the accounts.
  const buyerAEscrow = await buyerA.client.getMyAccount();
  expect(BigInt(buyerAEscrow.escrows?.[windowId] ?? '0') > 0n, 'buyerA escrow in the window').to.equal(true);
}

/**
 * Before the close, no order value is on the DSO's or the regulator's ledger copy: neither the
 * signed payloads nor their nonces are in any block those peers hold.
 */
async function expectOrdersSealed(run: WindowRun, signed: readonly SignedOrder[]): Promise<void> {
  for (const [mspId, name] of [
    ['DSOMSP', 'dso-operator'],
    ['RegulatorMSP', 'auditor'],
  ] as const) {
    const connection = connectAs(run.description, { mspId, identity: name });
    try {
      const blocks = await fetchBlocks(connection, run.description.channel);
      for (const sealed of signed) {
        const nonce = (JSON.parse(sealed.payload) as { nonce: string }).nonce;
        for (const block of blocks) {
          expect(
            block.bytes.includes(Buffer.from(sealed.payload)),
            `payload in block ${block.number} of ${mspId}`,
          ).to.equal(false);
          expect(
            block.bytes.includes(Buffer.from(nonce)),
            `nonce in block ${block.number} of ${mspId}`,
          ).to.equal(false);
        }
      }
    } finally {
      connection.close();
    }
  }
  expect(Date.now(), 'the orders were all in before the commitments').to.be.below(
    run.closesAt.getTime() - ORDER_COMMIT_LEAD_MS,
  );
}

/** Polls the auditor's view of the window (up to `attempts`) until `ready`; answers it or undefined. */
async function awaitWindow(
  run: WindowRun,
  ready: (view: WindowView) => boolean,
  attempts: number,
  pauseMs: number,
): Promise<WindowView | undefined> {
  for (let attempt = 0; attempt < attempts; attempt += 1) {
    const view = await run.windowView();
    if (ready(view)) {
      return view;
    }
    await sleep(pauseMs);
  }
  return undefined;
}

/** Whether both utilities' parts of the window have `field`. */
const bothUtilities =
  (field: 'revealed' | 'released') =>
  (view: WindowView): boolean =>
    [UTILITY_A, UTILITY_B].every((org) => view.parts.find((part) => part.org === org)?.[field] !== undefined);

/**
 * After the close: orders are refused; each utility reveals (its gateway does it on its own at the
 * close; an admin asking again gets 409 once it is done).
 */
async function revealAfterClose(run: WindowRun): Promise<void> {
  await sleep(Math.max(0, run.closesAt.getTime() - Date.now()) + 3_000);
  const late = await refusalOf(
    run.actors.buyerA.client.submitOrder(run.windowId, { side: 'bid', energyKwh: 1, limitPrice: 80 }),
  );
  expect(late).to.include({ statusCode: 409, code: 'FAILED_PRECONDITION' });
  for (const mspId of [UTILITY_A, UTILITY_B]) {
    const revealed = await run.callWindow(mspId, adminOf(mspId), 'POST', '/reveal');
    expect(revealed.status, JSON.stringify(revealed.body)).to.be.oneOf([200, 409]);
  }
  // Past revealBy (here deliveryStart = closesAt) the clearing would go ahead without a utility
  // that has not revealed: wait until both parts show their reveal.
  const revealed = await awaitWindow(run, bothUtilities('revealed'), 30, 1_000);
  expect(revealed !== undefined, 'both utilities revealed their orders').to.equal(true);
  // Each utility gateway committed (majority-endorsed) to its sealed orders before the close.
  for (const part of revealed?.parts ?? []) {
    const commitment = (part as { commitment?: { count?: unknown; committedAt?: unknown } }).commitment;
    expect(commitment?.count, `${String(part.org)} committed`).to.be.a('number');
    expect(Date.parse(String(commitment?.committedAt))).to.be.below(run.closesAt.getTime());
  }
}

/** Clearing by the market operator (retried while a reveal is still being committed); answers the trades. */
async function clearWindow(run: WindowRun): Promise<Trade[]> {
  const { windowId } = run;
  const { sellerA, sellerB, buyerA, buyerB } = run.actors;
  let cleared: ApiResponse<ClearingSummary>;
  for (let attempt = 0; ; attempt += 1) {
    cleared = await run.callWindow<ClearingSummary>('DSOMSP', MARKET, 'POST', '/clearing');
    if (cleared.status !== 409 || attempt >= 10) {
      break;
    }
    await sleep(2_000);
  }
  expectStatus(cleared, 200);
  // The clearing answers a summary; the trades themselves are in the window's clearing.
  expect(cleared.body).to.include({ windowId, tradedWh: 5000, droppedRevoked: 0 });
  expect(cleared.body.excludedOrgs, 'both utilities revealed before the clearing').to.deep.equal([]);
  const window = await buyerB.client.getWindow(windowId);
  expect(window.status).to.equal('CLEARED');
  const trades = tradesOf(window);
  expect(cleared.body.trades).to.equal(trades.length);
  // Bids 3 kWh ≤ 80 and 2 kWh ≤ 70 meet offers 3 kWh ≥ 40 and 4 kWh ≥ 60: 5 kWh trade.
  expect(trades.reduce((sum, trade) => sum + trade.energyWh, 0)).to.equal(5000);
  for (const trade of trades) {
    expect(BigInt(trade.value)).to.equal(BigInt(trade.energyWh) * BigInt(trade.price));
    expect([sellerA.accountId, sellerB.accountId]).to.include(trade.sellerAccount);
    expect([buyerA.accountId, buyerB.accountId]).to.include(trade.buyerAccount);
  }
  return trades;
}

/** A refusal with its error code. */
function expectRefused(response: ApiResponse<{ code: string }>, status: number, code: string): void {
  expectStatus(response, status);
  expect(response.body.code).to.equal(code);
}

/**
 * The clearing moves no tokens. Each utility gateway then releases its escrows on its own
 * (WindowCleared): a revealed bid keeps exactly what its trades are worth.
 */
async function expectEscrowsReleased(run: WindowRun, trades: readonly Trade[]): Promise<void> {
  const released = await awaitWindow(run, bothUtilities('released'), 30, 2_000);
  expect(released, 'both utility gateways released their escrows after the clearing').to.not.equal(undefined);
  // Done once: the admin's explicit release is then a conflict.
  expectRefused(
    await run.callWindow<{ code: string }>(UTILITY_A, adminOf(UTILITY_A), 'POST', '/escrow-release'),
    409,
    'CONFLICT',
  );
  // Another utility's admin cannot release UtilityA's escrows.
  expectStatus(await run.callWindow(UTILITY_A, adminOf(UTILITY_B), 'POST', '/escrow-release'), 403);
  for (const buyer of [run.actors.buyerA, run.actors.buyerB]) {
    const worth = trades
      .filter((trade) => trade.buyerAccount === buyer.accountId)
      .reduce((sum, trade) => sum + BigInt(trade.value), 0n);
    const account = await buyer.client.getMyAccount();
    expect(BigInt(account.escrowed ?? '0'), buyer.name).to.equal(worth);
    expect(BigInt(account.escrows?.[run.windowId] ?? '0'), buyer.name).to.equal(worth);
  }
}

/** An auditor recomputes the clearing from the revealed orders. */
async function expectAuditMatches(run: WindowRun): Promise<void> {
  const audit = await run.callWindow<{ matches: boolean }>('RegulatorMSP', AUDITOR, 'GET', '/audit');
  expectStatus(audit, 200);
  expect(audit.body.matches).to.equal(true);
}

/**
 * Delivery: after deliveryEnd, each meter head-end reports its org's trade sides. UtilityB's
 * seller delivers only 90 % of what it sold; everyone else delivers and receives in full.
 */
function deliveredWhOf(run: WindowRun): (trade: Trade) => number {
  const { sellerB } = run.actors;
  return (trade) =>
    trade.sellerAccount === sellerB.accountId ? Math.floor(trade.energyWh * 0.9) : trade.energyWh;
}

async function reportDelivery(run: WindowRun, trades: readonly Trade[]): Promise<void> {
  await sleep(Math.max(0, run.deliveryEnd.getTime() - Date.now()) + 3_000);
  const { sellerA, buyerA, cancellerA, sellerB, buyerB } = run.actors;
  const orgOf = new Map<string | undefined, string>(
    [sellerA, buyerA, cancellerA, sellerB, buyerB].map((holder) => [holder.accountId, holder.mspId]),
  );
  const deliveredWh = deliveredWhOf(run);
  for (const mspId of [UTILITY_A, UTILITY_B]) {
    const readings = trades.flatMap((trade) => [
      ...(orgOf.get(trade.sellerAccount) === mspId
        ? [{ tradeId: trade.tradeId, side: 'offer', energyKwh: deliveredWh(trade) / 1000 }]
        : []),
      ...(orgOf.get(trade.buyerAccount) === mspId
        ? [{ tradeId: trade.tradeId, side: 'bid', energyKwh: trade.energyWh / 1000 }]
        : []),
    ]);
    const reported = await run.callWindow(mspId, meterOf(mspId), 'POST', '/meter-reports', {
      readings,
    });
    expectStatus(reported, 200);
  }
}

/** Settlement by both utilities (the second one final); a second one is refused. */
async function settle(run: WindowRun): Promise<void> {
  const settlements: { final?: boolean; sellersPaid?: string }[] = [];
  for (const mspId of [UTILITY_A, UTILITY_B]) {
    const settled = await run.callWindow<{ final?: boolean; sellersPaid?: string }>(
      mspId,
      adminOf(mspId),
      'POST',
      '/settlement',
    );
    expectStatus(settled, 200);
    settlements.push(settled.body);
  }
  expect(settlements.map((settled) => settled.final)).to.deep.equal([false, true]);
  expectRefused(
    await run.callWindow<{ code: string }>(UTILITY_A, adminOf(UTILITY_A), 'POST', '/settlement'),
    409,
    'CONFLICT',
  );
  expect((await run.actors.buyerA.client.getWindow(run.windowId)).status).to.equal('SETTLED');
}

/**
 * The arithmetic: buyers pay price × received out of escrow; sellers get price × delivered
 * (buyers received everything, so B ≥ S and f = 1); the pool's rest goes to the grid account.
 * Answers what buyers were charged and what sellers were paid.
 */
async function expectSettledBalances(
  run: WindowRun,
  trades: readonly Trade[],
  deposits: ReadonlyMap<Device, bigint>,
  balancesBefore: ReadonlyMap<Device, bigint>,
): Promise<{ buyerCharge: bigint; sellerValue: bigint }> {
  const deliveredWh = deliveredWhOf(run);
  const buyerCharge = trades.reduce((sum, trade) => sum + BigInt(trade.price) * BigInt(trade.energyWh), 0n);
  const sellerValue = trades.reduce(
    (sum, trade) => sum + BigInt(trade.price) * BigInt(deliveredWh(trade)),
    0n,
  );
  const { sellerA, buyerA, sellerB, buyerB } = run.actors;
  for (const holder of [sellerA, buyerA, sellerB, buyerB]) {
    const account = await run.auditorGet<Account>(`/v1/accounts/${holder.accountId ?? ''}`);
    expectStatus(account, 200);
    const sold = trades
      .filter((trade) => trade.sellerAccount === holder.accountId)
      .reduce((sum, trade) => sum + BigInt(trade.price) * BigInt(deliveredWh(trade)), 0n);
    const bought = trades
      .filter((trade) => trade.buyerAccount === holder.accountId)
      .reduce((sum, trade) => sum + BigInt(trade.price) * BigInt(trade.energyWh), 0n);
    const deposit = (deposits.get(holder) ?? 0n) * VALUE_UNITS;
    expect(BigInt(account.body.balance), holder.name).to.equal(deposit + sold - bought);
    expect(BigInt(account.body.escrowed ?? '0'), holder.name).to.equal(0n);
    // Before settlement, the buyers' charge was still in escrow.
    expect(BigInt(account.body.balance) - (balancesBefore.get(holder) ?? 0n), holder.name).to.equal(sold);
  }
  return { buyerCharge, sellerValue };
}

/** The market operator claims the pool's rest for the grid account, once; nobody else may. */
async function claimGridShare(run: WindowRun, book: TokenBook, gridShare: bigint): Promise<void> {
  const claimed = await run.callWindow<{ account: string; amount: string }>(
    'DSOMSP',
    MARKET,
    'POST',
    '/grid-share',
  );
  expectStatus(claimed, 200);
  expect(claimed.body).to.include({
    account: 'grid:DSOMSP',
    amount: gridShare.toString(),
  });
  expect(await book.gridGain()).to.equal(gridShare);
  const claimedView = await run.windowView();
  expect(claimedView.pool).to.include({ amount: '0', toGrid: gridShare.toString() });
  expect(claimedView.gridShare).to.equal(gridShare.toString());
  await book.expectConserved('after the grid share');
  expectRefused(
    await run.callWindow<{ code: string }>('DSOMSP', MARKET, 'POST', '/grid-share'),
    409,
    'CONFLICT',
  );
  // Claiming is the market operator's, at its own DSO gateway.
  expectStatus(await run.callWindow('DSOMSP', DSO_OPERATOR, 'POST', '/grid-share'), 403);
}

/** The account's own utility sees its history; another utility's admin does not. */
async function expectHistoryToOwnUtility(run: WindowRun, holder: Device): Promise<void> {
  const path = `/v1/accounts/${holder.accountId ?? ''}/history`;
  expectStatus(await run.call(UTILITY_A, adminOf(UTILITY_A), 'GET', path), 200);
  expectStatus(await run.call(UTILITY_B, adminOf(UTILITY_B), 'GET', path), 403);
}

describe('the energy auction through the REST gateways', () => {
  let description: NetworkDescription;
  const gateways = new GatewayProcesses(E2E_STATE_DIR);
  const devices: Device[] = [];

  before(async function () {
    this.timeout(120_000);
    description = loadNetworkDescription(E2E_STATE_DIR);
    await gateways.start(description, ['DSOMSP', UTILITY_B, 'RegulatorMSP']);
    // A batch wait long enough that orders sent together share one transaction.
    await gateways.start(description, [UTILITY_A], { env: batchWait(ORDER_BATCH_WAIT_MS) });
  });

  after(async () => {
    for (const device of devices) {
      device.client.close();
    }
    await gateways.stop();
  });

  it('runs one full window: accounts and deposits, availability, sealed orders, reveal, clearing, escrow release, audit, delivery, settlement, grid share', async function () {
    this.timeout(600_000);
    const device = (mspId: string, name: string): Device => {
      const created = sampleDevice(description, mspId, name);
      devices.push(created);
      return created;
    };
    // hems-b-008 is revoked by the refusal suite; none of these is.
    const actors: Actors = {
      sellerA: device(UTILITY_A, 'hems-a-001'),
      buyerA: device(UTILITY_A, 'hems-a-002'),
      cancellerA: device(UTILITY_A, 'hems-a-003'),
      greedyA: device(UTILITY_A, 'hems-a-004'),
      sellerB: device(UTILITY_B, 'hems-b-001'),
      buyerB: device(UTILITY_B, 'hems-b-002'),
      brokeB: device(UTILITY_B, 'hems-b-003'),
    };
    const { sellerA, buyerA, cancellerA, greedyA, sellerB, buyerB, brokeB } = actors;
    const run = windowRun(description, actors);
    await openWindow(run);

    // Accounts: each utility's admin opens zero accounts for its prosumers (an offer needs one)
    // and for the broke buyer, and deposits for the buyers; the gateway looks the pseudonymous
    // account id up on its own peer, so the home id never leaves the utility.
    const opened0 = [sellerA, greedyA, sellerB, brokeB];
    await openZeroAccounts(run, opened0);
    const deposits = new Map<Device, bigint>([
      [buyerA, 100n],
      [cancellerA, 50n],
      [buyerB, 100n],
    ]);
    await deposit(run, deposits);
    const holders = [...opened0, ...deposits.keys()];
    await expectOwnAccounts(holders, deposits);
    await expectDepositEndorsed(run, buyerA);
    const book = await tokenBook(run, holders, deposits);
    await book.expectConserved('after the deposits');

    await postAvailability(run);
    const signed = await placeOrders(run);
    await expectOrderRefusalsAndEscrows(run);
    await book.expectConserved('with the escrows held');
    await expectOrdersSealed(run, signed);

    await revealAfterClose(run);
    const trades = await clearWindow(run);
    await expectEscrowsReleased(run, trades);
    await book.expectConserved('after the escrow release');
    // The grid share waits for the settlement.
    expectRefused(
      await run.callWindow<{ code: string }>('DSOMSP', MARKET, 'POST', '/grid-share'),
      409,
      'FAILED_PRECONDITION',
    );
    await expectAuditMatches(run);

    await reportDelivery(run, trades);
    const balancesBefore = new Map<Device, bigint>();
    for (const holder of [sellerA, buyerA, sellerB, buyerB]) {
      balancesBefore.set(holder, BigInt((await holder.client.getMyAccount()).balance));
    }
    // Buyers were charged at their utility's delivery report: the pool holds their payments.
    await book.expectConserved('after the delivery reports');
    await settle(run);
    const { buyerCharge, sellerValue } = await expectSettledBalances(run, trades, deposits, balancesBefore);
    // The pool keeps what buyers paid for energy the sellers did not deliver, until the market
    // operator claims it for the grid account.
    const settledView = await run.windowView();
    expect(settledView.pool).to.deep.equal({
      amount: (buyerCharge - sellerValue).toString(),
      charged: buyerCharge.toString(),
      paid: sellerValue.toString(),
      toGrid: '0',
    });
    await book.expectConserved('after the settlement');
    await claimGridShare(run, book, buyerCharge - sellerValue);
    await expectHistoryToOwnUtility(run, buyerA);
  });
});
