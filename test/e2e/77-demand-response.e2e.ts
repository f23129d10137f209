import {
  connectAs,
  findIdentity,
  loadNetworkDescription,
  type NetworkDescription,
} from '@hems/network-client';
import { expect } from 'chai';
import { GatewayProcesses, callGateway, type ApiResponse } from '@hems/testkit';
import { UTILITY_A, UTILITY_B } from './support/actors';
import { fetchBlocks } from './support/blocks';
import { encodings } from './support/encodings';
import {
  AUDITOR,
  adminOf,
  DSO_OPERATOR,
  meterOf,
  sleep,
  useE2eGatewayPorts,
  type Caller,
} from './support/gateways';
import { E2E_STATE_DIR } from './support/network';
import { enrolHomes } from './support/openadr';

useE2eGatewayPorts();

/**
 * Demand response that pays, on the real network through the REST gateways: the DSO funds its
 * pool and declares an event over two peak slots; each utility's meter head-end posts its homes'
 * 45-day history and the event day; the utilities pay rewards from their allotments and publish
 * per-bus totals; a device reads its own baseline; the auditor finds the event's public parts
 * consistent and the token ledger reconciled; no home id, reading or baseline is in any block.
 */

/**
 * The event day: the latest weekday before today (UTC). The baselines are weekday baselines, a
 * day's meter data is delivered once it is over, and rewards are paid within 3 days after it.
 */
const EVENT_DATE = ((): string => {
  for (let back = 1; ; back += 1) {
    const day = new Date(Date.now() - back * 86_400_000);
    if (day.getUTCDay() !== 0 && day.getUTCDay() !== 6) {
      return day.toISOString().slice(0, 10);
    }
  }
})();
const RATE = 0.5;
/** Value units per Wh of reduction at 0.5 currency per kWh. */
const RATE_UNITS = 5_000_000n;
/** History: 137 Wh per quarter hour, 263 Wh from 17:00; the event day's adjustment window matches (ratio 1). */
const HISTORY = Array.from({ length: 96 }, (_, index) => (index >= 68 ? 263 : 137));
/** Per home of UtilityA, Wh used in each of the event's two quarter hours. */
const METERED_A = [100, 263, 300, 0, 50, 200];

interface Receipt {
  readonly accepted: number;
  readonly paid?: string;
  readonly refused: readonly { index: number; code: string; message: string }[];
}

interface Allotment {
  readonly org: string;
  readonly allotted: string;
  readonly paid: string;
  readonly homes: number;
  readonly totals?: readonly {
    bus: string;
    homes: number;
    withheld: boolean;
    reductionWh?: number;
    reward?: string;
  }[];
}

interface Reconciliation {
  readonly reconciled: boolean;
  readonly utilities: readonly { org: string; difference: string }[];
  readonly drPools: readonly { org: string; difference: string }[];
  readonly unreadable: Readonly<Record<string, number>>;
}

function expectStatus(response: ApiResponse, status: number): void {
  expect(response.status, JSON.stringify(response.body)).to.equal(status);
}

function daysBefore(count: number): string[] {
  const event = Date.parse(`${EVENT_DATE}T00:00:00Z`);
  return Array.from({ length: count }, (_, index) =>
    new Date(event - (count - index) * 86_400_000).toISOString().slice(0, 10),
  );
}

function eventDay(wh: number): number[] {
  return HISTORY.map((value, index) => (index >= 68 && index < 70 ? wh : value));
}

describe('demand response through the REST gateways', () => {
  let description: NetworkDescription;
  const gateways = new GatewayProcesses(E2E_STATE_DIR);
  const run = Date.now().toString(36);
  const slotIds = [`dr-${run}-1700`, `dr-${run}-1715`];
  const eventId = `dr-${run}`;
  const homesA = METERED_A.map((_, index) => `dr-${run}-a${index + 1}`);
  const homeB = `dr-${run}-b1`;
  let device: Caller;
  let deviceHomeId: string;
  const call = <T>(
    mspId: string,
    who: Caller,
    method: string,
    path: string,
    body?: unknown,
  ): Promise<ApiResponse<T>> => callGateway<T>(description, mspId, who, method, path, body);

  const restoreEnrolment: (() => Promise<void>)[] = [];
  /** Shared by the steps below, in order. */
  const accounts = new Map<string, string>();
  let reconciledBefore: ApiResponse<Reconciliation>;
  let deadline: string;
  const reductions = METERED_A.map((wh) => Math.max(0, 2 * (263 - wh)));
  const expectedA = BigInt(reductions.reduce((sum, wh) => sum + wh, 0)) * RATE_UNITS;

  before(async function () {
    this.timeout(120_000);
    description = loadNetworkDescription(E2E_STATE_DIR);
    // The budget is allotted by enrolled homes; the simulated day's suite may have set them to 0.
    restoreEnrolment.push(await enrolHomes(description, UTILITY_A, 'bus-1', 7));
    restoreEnrolment.push(await enrolHomes(description, UTILITY_B, 'bus-1', 1));
    await gateways.start(description, ['DSOMSP', UTILITY_A, UTILITY_B, 'RegulatorMSP']);
    device = { mspId: UTILITY_A, name: 'hems-a-005' };
    deviceHomeId = findIdentity(description, UTILITY_A, 'hems-a-005').attributes['hems.home'] ?? '';
    expect(deviceHomeId).to.not.equal('');
  });

  after(async () => {
    await gateways.stop();
    for (const restore of restoreEnrolment) {
      await restore();
    }
  });

  /** An emergency of level 2 on a third slot, declared before its dispatch; lowering it is refused. */
  const declareEmergency = async (deadline: string): Promise<void> => {
    const emergencySlot = `dr-${run}-1900`;
    expectStatus(
      await call('DSOMSP', DSO_OPERATOR, 'POST', '/v1/slots', {
        slotId: emergencySlot,
        deadline,
        prices: { default: { lower: 20, upper: 80 } },
        schedule: {
          deliveryStart: `${EVENT_DATE}T19:00:00Z`,
          deliveryEnd: `${EVENT_DATE}T19:15:00Z`,
          period: 'peak',
        },
      }),
      201,
    );
    expectStatus(
      await call('DSOMSP', DSO_OPERATOR, 'POST', `/v1/slots/${emergencySlot}/emergency`, { level: 2 }),
      200,
    );
    expectStatus(
      await call('DSOMSP', DSO_OPERATOR, 'POST', `/v1/slots/${emergencySlot}/emergency`, { level: 1 }),
      409,
    );
    const slotView = await call<{ emergency?: { level: number } }>(
      'RegulatorMSP',
      AUDITOR,
      'GET',
      `/v1/slots/${emergencySlot}`,
    );
    expect(slotView.body.emergency?.level).to.equal(2);
  };

  /**
   * Production-backed tokens: UtilityA's head-end mints for a home's 500 Wh export in the first
   * event slot, at the default 50 currency per MWh (0.025 currency), once.
   */
  const mintForExport = async (accountId: string, rewarded: bigint): Promise<void> => {
    const minted = await call<Receipt & { minted: string }>(
      UTILITY_A,
      meterOf(UTILITY_A),
      'POST',
      `/v1/slots/${slotIds[0]}/production`,
      {
        exports: [{ homeId: homesA[0], exportWh: 500 }],
      },
    );
    expectStatus(minted, 200);
    expect(minted.body).to.include({ accepted: 1, minted: '250000000' });
    const mintedAgain = await call<Receipt>(
      UTILITY_A,
      meterOf(UTILITY_A),
      'POST',
      `/v1/slots/${slotIds[0]}/production`,
      {
        exports: [{ homeId: homesA[0], exportWh: 500 }],
      },
    );
    expect(mintedAgain.body.refused.map((item) => item.code)).to.deep.equal(['CONFLICT']);
    const producer = await call<{ balance: string }>(
      'RegulatorMSP',
      AUDITOR,
      'GET',
      `/v1/accounts/${accountId}`,
    );
    expect(BigInt(producer.body.balance)).to.equal(rewarded + 250_000_000n);
  };

  it('opens an account for every home', async function () {
    this.timeout(120_000);
    // The device's may exist from another suite: kept.
    for (const [org, homeId] of [
      ...homesA.map((id) => [UTILITY_A, id]),
      [UTILITY_A, deviceHomeId],
      [UTILITY_B, homeB],
    ] as const) {
      const opened = await call<{ accountId: string }>(org, adminOf(org), 'POST', '/v1/accounts', { homeId });
      expect([201, 409], JSON.stringify(opened.body)).to.include(opened.status);
      if (opened.status === 201) {
        accounts.set(homeId, opened.body.accountId);
      }
    }
    reconciledBefore = await call<Reconciliation>(
      'RegulatorMSP',
      AUDITOR,
      'GET',
      '/v1/accounts/reconciliation',
    );
    expectStatus(reconciledBefore, 200);
  });

  it('lets the DSO declare an event over two peak slots, funded from its pool, and an emergency', async function () {
    this.timeout(120_000);
    // The DSO opens two peak slots of the event day, funds its pool and declares the event.
    deadline = new Date(Date.now() + 20_000).toISOString();
    for (const [index, slotId] of slotIds.entries()) {
      const start = Date.parse(`${EVENT_DATE}T17:${index === 0 ? '00' : '15'}:00Z`);
      expectStatus(
        await call('DSOMSP', DSO_OPERATOR, 'POST', '/v1/slots', {
          slotId,
          deadline,
          prices: { default: { lower: 20, upper: 80 } },
          schedule: {
            deliveryStart: new Date(start).toISOString(),
            deliveryEnd: new Date(start + 15 * 60_000).toISOString(),
            period: 'peak',
          },
        }),
        201,
      );
    }
    expectStatus(await call('DSOMSP', DSO_OPERATOR, 'POST', '/v1/dr/pool', { amount: '100' }), 201);
    const declared = await call<{ event: { budget: string }; allotments: Allotment[] }>(
      'DSOMSP',
      DSO_OPERATOR,
      'POST',
      '/v1/dr/events',
      { eventId, slotIds, method: 'residential-5-in-10', rate: RATE, budget: '50' },
    );
    expectStatus(declared, 201);
    expect(declared.body.allotments.reduce((sum, entry) => sum + BigInt(entry.allotted), 0n)).to.equal(
      50n * 10n ** 10n,
    );
    await declareEmergency(deadline);
    // A utility cannot declare an event.
    expectStatus(
      await call(UTILITY_A, adminOf(UTILITY_A), 'POST', '/v1/dr/events', {
        eventId: `${eventId}-x`,
        slotIds,
        method: 'residential-5-in-10',
        rate: RATE,
        budget: '1',
      }),
      403,
    );
  });

  it('takes 45 days of private meter history and the event day from the meter head-ends', async function () {
    this.timeout(120_000);
    // The meter head-ends post 45 days of history and the event day (in batches of at most 200).
    const posts: [string, string, string, number][] = [
      ...homesA.map((homeId, index): [string, string, string, number] => [
        UTILITY_A,
        homeId,
        'bus-1',
        METERED_A[index]!,
      ]),
      [UTILITY_A, deviceHomeId, 'bus-1', 263],
      [UTILITY_B, homeB, 'bus-1', 63],
    ];
    for (const org of [UTILITY_A, UTILITY_B]) {
      const days = posts
        .filter(([owner]) => owner === org)
        .flatMap(([, homeId, bus, wh]) => [
          ...daysBefore(45).map((date) => ({ homeId, bus, date, intervalsWh: HISTORY })),
          { homeId, bus, date: EVENT_DATE, intervalsWh: eventDay(wh) },
        ]);
      for (let next = 0; next < days.length; next += 200) {
        const posted = await call<Receipt>(org, meterOf(org), 'POST', '/v1/meter/days', {
          days: days.slice(next, next + 200),
        });
        expectStatus(posted, 200);
        expect(posted.body.refused).to.deep.equal([]);
      }
    }
  });

  it('pays rewards to the Wh once the event’s slots are dispatched', async function () {
    this.timeout(180_000);
    // Rewards wait for the dispatch; the DSO dispatches after the deadline.
    const early = await call<{ code: string }>(
      UTILITY_A,
      adminOf(UTILITY_A),
      'POST',
      `/v1/dr/events/${eventId}/rewards`,
      { homeIds: homesA },
    );
    expectStatus(early, 409);
    await sleep(Math.max(0, Date.parse(deadline) - Date.now()) + 1000);
    for (const slotId of slotIds) {
      expectStatus(
        await call('DSOMSP', DSO_OPERATOR, 'POST', `/v1/slots/${slotId}/dispatch`, { lambda: 0.5 }),
        201,
      );
    }

    // UtilityA pays its six homes and the device's home; UtilityB its one.
    const paidA = await call<Receipt>(
      UTILITY_A,
      adminOf(UTILITY_A),
      'POST',
      `/v1/dr/events/${eventId}/rewards`,
      {
        homeIds: [...homesA, deviceHomeId],
      },
    );
    expectStatus(paidA, 200);
    expect(paidA.body).to.include({ accepted: 7, paid: expectedA.toString() });
    const paidB = await call<Receipt>(
      UTILITY_B,
      adminOf(UTILITY_B),
      'POST',
      `/v1/dr/events/${eventId}/rewards`,
      { homeIds: [homeB] },
    );
    expectStatus(paidB, 200);
    expect(paidB.body).to.include({ accepted: 1, paid: (400n * RATE_UNITS).toString() });
    // Each new account holds exactly its reward (they started at 0).
    for (const [index, homeId] of homesA.entries()) {
      const account = await call<{ balance: string }>(
        'RegulatorMSP',
        AUDITOR,
        'GET',
        `/v1/accounts/${accounts.get(homeId) ?? ''}`,
      );
      expect(BigInt(account.body.balance), homeId).to.equal(BigInt(reductions[index]!) * RATE_UNITS);
    }
  });

  it('mints production-backed tokens for a metered export, once', async function () {
    this.timeout(120_000);
    await mintForExport(accounts.get(homesA[0] ?? '') ?? '', BigInt(reductions[0] ?? 0) * RATE_UNITS);
  });

  it('refuses to pay a home twice', async function () {
    this.timeout(120_000);
    // Paid once.
    const again = await call<Receipt>(
      UTILITY_A,
      adminOf(UTILITY_A),
      'POST',
      `/v1/dr/events/${eventId}/rewards`,
      { homeIds: [homesA[0]] },
    );
    expect(again.body.refused.map((item) => item.code)).to.deep.equal(['CONFLICT']);
  });

  it('lets a device read its own baseline and reward', async function () {
    this.timeout(120_000);
    // The device reads its own baseline and (zero) reward at its utility's gateway.
    const mine = await call<{ baselineWh: number[]; meteredWh: number[]; reward: string; paid: boolean }>(
      UTILITY_A,
      device,
      'GET',
      `/v1/dr/events/${eventId}/reward`,
    );
    expectStatus(mine, 200);
    expect(mine.body).to.deep.include({
      baselineWh: [263, 263],
      meteredWh: [263, 263],
      reward: '0',
      paid: true,
    });
  });

  it('publishes per-bus totals from k homes on', async function () {
    this.timeout(120_000);
    // Totals: bus-1 of UtilityA has 7 homes (≥ k = 5), UtilityB's one home is only counted.
    for (const org of [UTILITY_A, UTILITY_B]) {
      expectStatus(await call(org, adminOf(org), 'POST', `/v1/dr/events/${eventId}/totals`), 200);
    }
    const view = await call<{ allotments: Allotment[] }>(
      'RegulatorMSP',
      AUDITOR,
      'GET',
      `/v1/dr/events/${eventId}`,
    );
    expectStatus(view, 200);
    const [allotA, allotB] = [UTILITY_A, UTILITY_B].map((org) =>
      view.body.allotments.find((entry) => entry.org === org),
    );
    expect(allotA?.totals).to.deep.equal([
      {
        bus: 'bus-1',
        homes: 7,
        withheld: false,
        baselineWh: 7 * 2 * 263,
        meteredWh: 2 * (METERED_A.reduce((sum, wh) => sum + wh, 0) + 263),
        reductionWh: reductions.reduce((sum, wh) => sum + wh, 0),
        reward: expectedA.toString(),
      },
    ]);
    expect(allotB?.totals).to.deep.equal([{ bus: 'bus-1', homes: 1, withheld: true }]);
  });

  it('finds the event consistent and every token accounted for', async function () {
    this.timeout(120_000);
    // The auditor: the event's public parts add up, and every token is accounted for.
    const audit = await call<{ consistent: boolean; problems: string[] }>(
      'RegulatorMSP',
      AUDITOR,
      'GET',
      `/v1/dr/events/${eventId}/audit`,
    );
    expectStatus(audit, 200);
    expect(audit.body.problems).to.deep.equal([]);
    expect(audit.body.consistent).to.equal(true);
    const reconciled = await call<Reconciliation>(
      'RegulatorMSP',
      AUDITOR,
      'GET',
      '/v1/accounts/reconciliation',
    );
    expectStatus(reconciled, 200);
    expect(reconciled.body.reconciled, JSON.stringify(reconciled.body)).to.equal(
      reconciledBefore.body.reconciled,
    );
    // What this suite moved is accounted for: every utility's and pool's difference is what it was
    // before (0 unless an earlier suite left one), and nothing unreadable was added.
    const differences = (body: Reconciliation): string[] =>
      [...body.utilities, ...body.drPools].map((entry) => `${entry.org}:${entry.difference}`);
    expect(differences(reconciled.body)).to.deep.equal(differences(reconciledBefore.body));
    expect(reconciled.body.drPools.every((pool) => pool.difference === '0')).to.equal(true);
    expect(reconciled.body.unreadable).to.deep.equal(reconciledBefore.body.unreadable);
  });

  it('puts no home id, reading or baseline in any block', async function () {
    this.timeout(120_000);
    // Privacy: no home id, no reading sequence and no per-home baseline in any block the DSO holds.
    const dso = connectAs(description, { mspId: 'DSOMSP', identity: 'dso-operator' });
    try {
      const blocks = Buffer.concat((await fetchBlocks(dso, description.channel)).map((block) => block.bytes));
      const needles = [
        ...[...homesA, homeB].flatMap((homeId) => encodings(homeId)),
        ...encodings('137,137,137'),
        ...encodings('"intervalsWh"'),
        ...encodings('"baselineWh":['),
      ];
      for (const needle of needles) {
        expect(blocks.includes(needle), `a block holds ${needle.toString('utf8')}`).to.equal(false);
      }
    } finally {
      dso.close();
    }
  });
});
