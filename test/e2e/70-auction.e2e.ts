import {
  connectAs,
  findIdentity,
  loadNetworkDescription,
  readCredentials,
  type NetworkDescription,
} from '@hems/network-client';
import { expect } from 'chai';
import { HemsClient, GatewayApiError, type OrderSpec, type SignedOrder } from '../../gateway-api/src/client';
import {
  GatewayProcesses,
  callGateway,
  gatewayCaPem,
  gatewayUrl,
  useGatewayPorts,
  type ApiResponse,
} from '../../gateway-api/src/local/gateway-processes';
import { fetchBlocks } from './support/blocks';
import { E2E_STATE_DIR } from './support/network';

// Test ports, apart from the defaults a developer's own gateways use.
useGatewayPorts({ DSOMSP: 19443, UtilityAMSP: 19444, UtilityBMSP: 19445, RegulatorMSP: 19446 });

const UTILITY_A = 'UtilityAMSP';
const UTILITY_B = 'UtilityBMSP';
const MARKET = { mspId: 'DSOMSP', name: 'market-operator' };
const AUDITOR = { mspId: 'RegulatorMSP', name: 'auditor' };
const adminOf = (mspId: string): { mspId: string; name: string } => ({ mspId, name: 'orgadmin' });
const meterOf = (mspId: string): { mspId: string; name: string } => ({ mspId, name: 'meter-headend' });

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
  readonly pool: {
    readonly amount: string;
    readonly charged: string;
    readonly paid: string;
    readonly toGrid: string;
  };
  readonly gridShare?: string;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function sampleDevice(description: NetworkDescription, mspId: string, name: string): Device {
  const identity = findIdentity(description, mspId, name);
  const credentials = readCredentials(identity);
  return {
    name,
    mspId,
    homeId: identity.attributes['hems.home'] ?? '',
    client: new HemsClient({
      gatewayUrl: gatewayUrl(mspId),
      gatewayCaPem: gatewayCaPem(description, mspId),
      certificatePem: credentials.certificate.toString('utf8'),
      privateKeyPem: credentials.privateKeyPem.toString('utf8'),
    }),
  };
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

describe('the energy auction through the REST gateways', () => {
  let description: NetworkDescription;
  const gateways = new GatewayProcesses(E2E_STATE_DIR);
  const devices: Device[] = [];

  before(async function () {
    this.timeout(120_000);
    description = loadNetworkDescription(E2E_STATE_DIR);
    await gateways.start(description, ['DSOMSP', UTILITY_A, UTILITY_B, 'RegulatorMSP']);
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
    const sellerA = device(UTILITY_A, 'hems-a-001');
    const buyerA = device(UTILITY_A, 'hems-a-002');
    const cancellerA = device(UTILITY_A, 'hems-a-003');
    const greedyA = device(UTILITY_A, 'hems-a-004');
    const sellerB = device(UTILITY_B, 'hems-b-001');
    const buyerB = device(UTILITY_B, 'hems-b-002');
    const brokeB = device(UTILITY_B, 'hems-b-003');

    // A window closing in two minutes; delivery right after, short.
    const windowId = `auction-${Date.now().toString(36)}`;
    const closesAt = new Date(Date.now() + 120_000);
    const deliveryEnd = new Date(closesAt.getTime() + 15_000);
    const opened = await callGateway(description, 'DSOMSP', MARKET, 'POST', '/v1/windows', {
      windowId,
      deliverySlotId: `slot-${windowId}`,
      deliveryStart: closesAt.toISOString(),
      deliveryEnd: deliveryEnd.toISOString(),
      closesAt: closesAt.toISOString(),
      pricingRule: 'pay-as-clear',
    });
    expectStatus(opened, 201);
    expect((await buyerA.client.getWindow(windowId)).status).to.equal('OPEN');
    // Opening is the market operator's: a DSO operator without the market role is refused.
    const notMarket = await callGateway(
      description,
      'DSOMSP',
      { mspId: 'DSOMSP', name: 'dso-operator' },
      'POST',
      '/v1/windows',
      {
        windowId: `${windowId}-x`,
        deliverySlotId: 's',
        deliveryStart: closesAt.toISOString(),
        deliveryEnd: deliveryEnd.toISOString(),
        closesAt: closesAt.toISOString(),
      },
    );
    expectStatus(notMarket, 403);

    // Accounts: each utility's admin opens zero accounts for its prosumers (an offer needs one)
    // and for the broke buyer, and deposits for the buyers; the gateway looks the pseudonymous
    // account id up on its own peer, so the home id never leaves the utility.
    const opened0 = [sellerA, greedyA, sellerB, brokeB];
    await Promise.all(
      opened0.map(async (holder) => {
        const response = await callGateway<Account>(
          description,
          holder.mspId,
          adminOf(holder.mspId),
          'POST',
          '/v1/accounts',
          { homeId: holder.homeId },
        );
        expectStatus(response, 201);
        expect(response.body.accountId).to.match(/^acct-[0-9a-f]{32}$/);
        expect(response.body.mspId).to.equal(holder.mspId);
        expect(BigInt(response.body.balance)).to.equal(0n);
        expect(JSON.stringify(response.body)).to.not.include(holder.homeId);
        holder.accountId = response.body.accountId;
      }),
    );
    // Opening an existing account again is refused; so is another utility's admin.
    const reopened = await callGateway<{ code: string }>(
      description,
      UTILITY_A,
      adminOf(UTILITY_A),
      'POST',
      '/v1/accounts',
      { homeId: sellerA.homeId },
    );
    expectStatus(reopened, 409);
    expect(reopened.body.code).to.equal('CONFLICT');
    expectStatus(
      await callGateway(description, UTILITY_A, adminOf(UTILITY_B), 'POST', '/v1/accounts/deposits', {
        homeId: buyerA.homeId,
        amount: 1,
      }),
      403,
    );
    const deposits = new Map<Device, bigint>([
      [buyerA, 100n],
      [cancellerA, 50n],
      [buyerB, 100n],
    ]);
    await Promise.all(
      [...deposits].map(async ([holder, amount]) => {
        const deposited = await callGateway<Account>(
          description,
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
    for (const holder of [...opened0, ...deposits.keys()]) {
      const account = await holder.client.getMyAccount();
      expect(account.accountId).to.match(/^acct-[0-9a-f]{32}$/);
      expect(BigInt(account.balance), holder.name).to.equal((deposits.get(holder) ?? 0n) * VALUE_UNITS);
      if (holder.accountId !== undefined) {
        expect(account.accountId).to.equal(holder.accountId);
      }
      holder.accountId = account.accountId;
    }
    // The Deposit transactions were endorsed by a majority with the utility's own peer among them.
    const holders = [...opened0, ...deposits.keys()];
    const auditorGet = <T>(path: string): Promise<ApiResponse<T>> =>
      callGateway<T>(description, 'RegulatorMSP', AUDITOR, 'GET', path);
    const history = await auditorGet<{ entries: { txId: string }[] }>(
      `/v1/accounts/${buyerA.accountId ?? ''}/history`,
    );
    expectStatus(history, 200);
    const depositTx = await auditorGet<{ endorsingOrganizations: string[]; function: string }>(
      `/v1/audit/transactions/${history.body.entries[0]?.txId ?? ''}`,
    );
    expectStatus(depositTx, 200);
    expect(depositTx.body.endorsingOrganizations).to.include(UTILITY_A);
    expect(depositTx.body.endorsingOrganizations.length).to.be.at.least(3);
    const gridBefore = await auditorGet<Account>('/v1/accounts/grid:DSOMSP');
    const gridBalanceBefore = gridBefore.status === 200 ? BigInt(gridBefore.body.balance) : 0n;
    // Tokens are conserved: Σ (balance + escrowed) of the test's accounts + the window's pool +
    // what the grid account gained stays the sum of the deposits.
    const totalDeposited = [...deposits.values()].reduce((sum, amount) => sum + amount * VALUE_UNITS, 0n);
    const holdings = async (): Promise<bigint> => {
      let sum = 0n;
      for (const holder of holders) {
        const account = await auditorGet<Account>(`/v1/accounts/${holder.accountId ?? ''}`);
        expectStatus(account, 200);
        sum += BigInt(account.body.balance) + BigInt(account.body.escrowed ?? '0');
      }
      return sum;
    };
    const windowView = async (): Promise<WindowView> => {
      const response = await auditorGet<WindowView>(`/v1/windows/${windowId}`);
      expectStatus(response, 200);
      return response.body;
    };
    const gridGain = async (): Promise<bigint> => {
      const grid = await auditorGet<Account>('/v1/accounts/grid:DSOMSP');
      return grid.status === 200 ? BigInt(grid.body.balance) - gridBalanceBefore : 0n;
    };
    const expectConserved = async (when: string): Promise<void> => {
      const pool = BigInt((await windowView()).pool.amount);
      expect((await holdings()) + pool + (await gridGain()), `tokens conserved ${when}`).to.equal(
        totalDeposited,
      );
    };
    await expectConserved('after the deposits');

    // Available energy from each utility's meter head-end.
    const availability = await Promise.all([
      callGateway(
        description,
        UTILITY_A,
        meterOf(UTILITY_A),
        'POST',
        `/v1/windows/${windowId}/available-energy`,
        {
          availability: [
            { homeId: sellerA.homeId, energyKwh: 5 },
            { homeId: greedyA.homeId, energyKwh: 1 },
          ],
        },
      ),
      callGateway(
        description,
        UTILITY_B,
        meterOf(UTILITY_B),
        'POST',
        `/v1/windows/${windowId}/available-energy`,
        {
          availability: [{ homeId: sellerB.homeId, energyKwh: 4 }],
        },
      ),
    ]);
    availability.forEach((response) => expectStatus(response, 200));
    // A meter head-end cannot post at another utility's gateway.
    const foreignMeter = await callGateway(
      description,
      UTILITY_A,
      meterOf(UTILITY_B),
      'POST',
      `/v1/windows/${windowId}/available-energy`,
      {
        availability: [{ homeId: sellerB.homeId, energyKwh: 4 }],
      },
    );
    expectStatus(foreignMeter, 403);

    // Sealed orders. UtilityA's seller first offers 2 kWh at 50, then replaces it with 3 kWh at 40.
    const signed: SignedOrder[] = [];
    const order = async (holder: Device, spec: OrderSpec): Promise<void> => {
      const orderSigned = holder.client.signOrder(windowId, spec);
      signed.push(orderSigned);
      const receipt = await holder.client.submitSignedOrder(orderSigned);
      expect(receipt.windowId).to.equal(windowId);
    };
    await order(sellerA, { side: 'offer', energyKwh: 2, limitPrice: 50 });
    await Promise.all([
      order(sellerA, { side: 'offer', energyKwh: 3, limitPrice: 40 }),
      order(sellerB, { side: 'offer', energyKwh: 4, limitPrice: 60 }),
      order(buyerA, { side: 'bid', energyKwh: 3, limitPrice: 80 }),
      order(buyerB, { side: 'bid', energyKwh: 2, limitPrice: 70, escrow: 1 }),
      order(cancellerA, { side: 'bid', energyKwh: 1, limitPrice: 90 }),
    ]);
    // Above its posted availability: refused, without the values in the answer.
    const greedy = await refusalOf(
      greedyA.client.submitOrder(windowId, { side: 'offer', energyKwh: 2, limitPrice: 45 }),
    );
    expect(greedy).to.include({ statusCode: 409, code: 'FAILED_PRECONDITION' });
    expect(greedy.message).to.match(/offer exceeds the available energy/);
    // A bid whose escrow the (zero) balance does not cover.
    const broke = await refusalOf(
      brokeB.client.submitOrder(windowId, { side: 'bid', energyKwh: 1, limitPrice: 75 }),
    );
    expect(broke.statusCode).to.equal(409);
    expect(broke.message).to.match(/balance does not cover the escrow/);
    // The cancelled bid's escrow comes back at once.
    const escrowed = await cancellerA.client.getMyAccount();
    expect(BigInt(escrowed.balance) < 50n * VALUE_UNITS, 'the bid escrowed part of the balance').to.equal(
      true,
    );
    const cancelled = await cancellerA.client.cancelOrder(windowId);
    expect(cancelled.windowId).to.equal(windowId);
    expect(BigInt((await cancellerA.client.getMyAccount()).balance)).to.equal(50n * VALUE_UNITS);
    // The bids' escrows are public amounts per window on the accounts.
    const buyerAEscrow = await buyerA.client.getMyAccount();
    expect(BigInt(buyerAEscrow.escrows?.[windowId] ?? '0') > 0n, 'buyerA escrow in the window').to.equal(
      true,
    );
    await expectConserved('with the escrows held');

    // Before the close, no order value is on the DSO's or the regulator's ledger copy: neither the
    // signed payloads nor their nonces are in any block those peers hold.
    for (const [mspId, name] of [
      ['DSOMSP', 'dso-operator'],
      ['RegulatorMSP', 'auditor'],
    ] as const) {
      const connection = connectAs(description, { mspId, identity: name });
      try {
        const blocks = await fetchBlocks(connection, description.channel);
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
    expect(Date.now(), 'the orders were all in before the close').to.be.below(closesAt.getTime());

    // After the close: orders are refused; each utility reveals (its gateway does it on its own at
    // the close; an admin asking again gets 409 once it is done).
    await sleep(Math.max(0, closesAt.getTime() - Date.now()) + 3_000);
    const late = await refusalOf(
      buyerA.client.submitOrder(windowId, { side: 'bid', energyKwh: 1, limitPrice: 80 }),
    );
    expect(late).to.include({ statusCode: 409, code: 'FAILED_PRECONDITION' });
    for (const mspId of [UTILITY_A, UTILITY_B]) {
      const revealed = await callGateway(
        description,
        mspId,
        adminOf(mspId),
        'POST',
        `/v1/windows/${windowId}/reveal`,
      );
      expect(revealed.status, JSON.stringify(revealed.body)).to.be.oneOf([200, 409]);
    }
    // Past revealBy (here deliveryStart = closesAt) the clearing would go ahead without a utility
    // that has not revealed: wait until both parts show their reveal.
    let bothRevealed = false;
    for (let attempt = 0; attempt < 30 && !bothRevealed; attempt += 1) {
      const view = await windowView();
      bothRevealed = [UTILITY_A, UTILITY_B].every(
        (org) => view.parts.find((part) => part.org === org)?.revealed !== undefined,
      );
      if (!bothRevealed) {
        await sleep(1_000);
      }
    }
    expect(bothRevealed, 'both utilities revealed their orders').to.equal(true);

    // Clearing by the market operator (retried while a reveal is still being committed).
    let cleared: ApiResponse<ClearingSummary>;
    for (let attempt = 0; ; attempt += 1) {
      cleared = await callGateway<ClearingSummary>(
        description,
        'DSOMSP',
        MARKET,
        'POST',
        `/v1/windows/${windowId}/clearing`,
      );
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
    // The clearing moves no tokens. Each utility gateway then releases its escrows on its own
    // (WindowCleared): a revealed bid keeps exactly what its trades are worth.
    let released: WindowView | undefined;
    for (let attempt = 0; attempt < 30; attempt += 1) {
      const view = await windowView();
      if (
        [UTILITY_A, UTILITY_B].every(
          (org) => view.parts.find((part) => part.org === org)?.released !== undefined,
        )
      ) {
        released = view;
        break;
      }
      await sleep(2_000);
    }
    expect(released, 'both utility gateways released their escrows after the clearing').to.not.equal(
      undefined,
    );
    // Done once: the admin's explicit release is then a conflict.
    const releaseAgain = await callGateway<{ code: string }>(
      description,
      UTILITY_A,
      adminOf(UTILITY_A),
      'POST',
      `/v1/windows/${windowId}/escrow-release`,
    );
    expectStatus(releaseAgain, 409);
    expect(releaseAgain.body.code).to.equal('CONFLICT');
    // Another utility's admin cannot release UtilityA's escrows.
    expectStatus(
      await callGateway(
        description,
        UTILITY_A,
        adminOf(UTILITY_B),
        'POST',
        `/v1/windows/${windowId}/escrow-release`,
      ),
      403,
    );
    for (const buyer of [buyerA, buyerB]) {
      const worth = trades
        .filter((trade) => trade.buyerAccount === buyer.accountId)
        .reduce((sum, trade) => sum + BigInt(trade.value), 0n);
      const account = await buyer.client.getMyAccount();
      expect(BigInt(account.escrowed ?? '0'), buyer.name).to.equal(worth);
      expect(BigInt(account.escrows?.[windowId] ?? '0'), buyer.name).to.equal(worth);
    }
    await expectConserved('after the escrow release');
    // The grid share waits for the settlement.
    const early = await callGateway<{ code: string }>(
      description,
      'DSOMSP',
      MARKET,
      'POST',
      `/v1/windows/${windowId}/grid-share`,
    );
    expectStatus(early, 409);
    expect(early.body.code).to.equal('FAILED_PRECONDITION');

    // An auditor recomputes the clearing from the revealed orders.
    const audit = await callGateway<{ matches: boolean }>(
      description,
      'RegulatorMSP',
      AUDITOR,
      'GET',
      `/v1/windows/${windowId}/audit`,
    );
    expectStatus(audit, 200);
    expect(audit.body.matches).to.equal(true);

    // Delivery: after deliveryEnd, each meter head-end reports its org's trade sides. UtilityB's
    // seller delivers only 90 % of what it sold; everyone else delivers and receives in full.
    await sleep(Math.max(0, deliveryEnd.getTime() - Date.now()) + 3_000);
    const orgOf = new Map<string | undefined, string>(
      [sellerA, buyerA, cancellerA, sellerB, buyerB].map((holder) => [holder.accountId, holder.mspId]),
    );
    const deliveredWh = (trade: Trade): number =>
      trade.sellerAccount === sellerB.accountId ? Math.floor(trade.energyWh * 0.9) : trade.energyWh;
    for (const mspId of [UTILITY_A, UTILITY_B]) {
      const readings = trades.flatMap((trade) => [
        ...(orgOf.get(trade.sellerAccount) === mspId
          ? [{ tradeId: trade.tradeId, side: 'offer', energyKwh: deliveredWh(trade) / 1000 }]
          : []),
        ...(orgOf.get(trade.buyerAccount) === mspId
          ? [{ tradeId: trade.tradeId, side: 'bid', energyKwh: trade.energyWh / 1000 }]
          : []),
      ]);
      const reported = await callGateway(
        description,
        mspId,
        meterOf(mspId),
        'POST',
        `/v1/windows/${windowId}/meter-reports`,
        {
          readings,
        },
      );
      expectStatus(reported, 200);
    }

    // Settlement by both utilities; a second one is refused.
    const balancesBefore = new Map<Device, bigint>();
    for (const holder of [sellerA, buyerA, sellerB, buyerB]) {
      balancesBefore.set(holder, BigInt((await holder.client.getMyAccount()).balance));
    }
    // Buyers were charged at their utility's delivery report: the pool holds their payments.
    await expectConserved('after the delivery reports');
    const settlements: { final?: boolean; sellersPaid?: string }[] = [];
    for (const mspId of [UTILITY_A, UTILITY_B]) {
      const settled = await callGateway<{ final?: boolean; sellersPaid?: string }>(
        description,
        mspId,
        adminOf(mspId),
        'POST',
        `/v1/windows/${windowId}/settlement`,
      );
      expectStatus(settled, 200);
      settlements.push(settled.body);
    }
    expect(settlements.map((settled) => settled.final)).to.deep.equal([false, true]);
    const again = await callGateway<{ code: string }>(
      description,
      UTILITY_A,
      adminOf(UTILITY_A),
      'POST',
      `/v1/windows/${windowId}/settlement`,
    );
    expectStatus(again, 409);
    expect(again.body.code).to.equal('CONFLICT');
    expect((await buyerA.client.getWindow(windowId)).status).to.equal('SETTLED');

    // The arithmetic: buyers pay price × received out of escrow; sellers get price × delivered
    // (buyers received everything, so B ≥ S and f = 1); the pool's rest goes to the grid account.
    const buyerCharge = trades.reduce((sum, trade) => sum + BigInt(trade.price) * BigInt(trade.energyWh), 0n);
    const sellerValue = trades.reduce(
      (sum, trade) => sum + BigInt(trade.price) * BigInt(deliveredWh(trade)),
      0n,
    );
    for (const holder of [sellerA, buyerA, sellerB, buyerB]) {
      const account = await callGateway<Account>(
        description,
        'RegulatorMSP',
        AUDITOR,
        'GET',
        `/v1/accounts/${holder.accountId ?? ''}`,
      );
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
    // The pool keeps what buyers paid for energy the sellers did not deliver, until the market
    // operator claims it for the grid account.
    const settledView = await windowView();
    expect(settledView.pool).to.deep.equal({
      amount: (buyerCharge - sellerValue).toString(),
      charged: buyerCharge.toString(),
      paid: sellerValue.toString(),
      toGrid: '0',
    });
    await expectConserved('after the settlement');
    const claimed = await callGateway<{ account: string; amount: string }>(
      description,
      'DSOMSP',
      MARKET,
      'POST',
      `/v1/windows/${windowId}/grid-share`,
    );
    expectStatus(claimed, 200);
    expect(claimed.body).to.include({
      account: 'grid:DSOMSP',
      amount: (buyerCharge - sellerValue).toString(),
    });
    expect(await gridGain()).to.equal(buyerCharge - sellerValue);
    const claimedView = await windowView();
    expect(claimedView.pool).to.include({ amount: '0', toGrid: (buyerCharge - sellerValue).toString() });
    expect(claimedView.gridShare).to.equal((buyerCharge - sellerValue).toString());
    await expectConserved('after the grid share');
    const claimAgain = await callGateway<{ code: string }>(
      description,
      'DSOMSP',
      MARKET,
      'POST',
      `/v1/windows/${windowId}/grid-share`,
    );
    expectStatus(claimAgain, 409);
    expect(claimAgain.body.code).to.equal('CONFLICT');
    // Claiming is the market operator's, at its own DSO gateway.
    expectStatus(
      await callGateway(
        description,
        'DSOMSP',
        { mspId: 'DSOMSP', name: 'dso-operator' },
        'POST',
        `/v1/windows/${windowId}/grid-share`,
      ),
      403,
    );

    // The account's own utility sees its history; another utility's admin does not.
    const ownHistory = await callGateway(
      description,
      UTILITY_A,
      adminOf(UTILITY_A),
      'GET',
      `/v1/accounts/${buyerA.accountId ?? ''}/history`,
    );
    expectStatus(ownHistory, 200);
    const foreignHistory = await callGateway(
      description,
      UTILITY_B,
      adminOf(UTILITY_B),
      'GET',
      `/v1/accounts/${buyerA.accountId ?? ''}/history`,
    );
    expectStatus(foreignHistory, 403);
  });
});
