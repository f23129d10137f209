import { expect } from 'chai';
import { identities } from './support/fake-ledger';
import { freshNonce, signPayload } from './support/pki';
import { DrScenario, EVENT_DATE, EVENT_SLOTS, dayReadings, daysBefore } from './support/dr';
import { MINUTE, UTILITY_A, UTILITY_B, expectRefusal } from './support/scenario';

const DAY_AFTER = '2026-11-24';

/** 0.5 currency per kWh = 5,000,000 price units; a Wh of reduction pays 5,000,000 value units. */
const RATE = 0.5;
const RATE_UNITS = 5_000_000n;
const TERMS = { slotIds: [...EVENT_SLOTS], method: 'residential-5-in-10', rate: RATE, budget: '100' };

describe('demand response: meter history, events and rewards', () => {
  let s: DrScenario;
  /** Five UtilityA homes on bus-1 and one on bus-2, with accounts. */
  const bus1 = ['dr-home-1', 'dr-home-2', 'dr-home-3', 'dr-home-4', 'dr-home-5'];
  const bus2Home = 'dr-home-6';

  before(async () => {
    s = await DrScenario.create();
    await s.openPeakSlot(EVENT_SLOTS[0], '17:00');
    await s.openPeakSlot(EVENT_SLOTS[1], '17:15');
    for (const homeId of [...bus1, bus2Home, 'dr-no-history']) {
      await s.openAccount(UTILITY_A, homeId);
    }
    // The day after the event day: its meter data is complete (a day is delivered once it is over).
    s.ledger.now = new Date(`${DAY_AFTER}T01:00:00Z`);
  });

  describe('FundDrPool', () => {
    it('mints into the DSO pool, recorded as issued by the DSO', async () => {
      const pool = await s.fundPool('150');
      expect(pool).to.include({ accountId: 'pool:DSOMSP', mspId: 'DSOMSP', balance: '1500000000000' });
      expect(s.ledger.lastCommitted().endorsement).to.equal('majority');
      expect((await s.reconcile()).reconciled).to.equal(true);
    });

    it('is for the DSO, with a positive currency amount', async () => {
      await expectRefusal(s.fundPool('1', identities.admin(UTILITY_A)), 'FORBIDDEN');
      await expectRefusal(s.fundPool('0'), 'INVALID_ARGUMENT', /greater than 0/);
      await expectRefusal(s.fundPool('1.00001'), 'INVALID_ARGUMENT', /4 decimals/);
    });
  });

  describe('RecordMeterDays', () => {
    it('keeps each home’s days privately, refusing a bad item alone', async () => {
      const good = {
        homeId: bus1[0],
        bus: 'bus-1',
        date: daysBefore(1)[0],
        intervalsWh: dayReadings(100, 100, 200),
      };
      const receipt = await s.recordDays([
        good,
        { ...good, date: '2026-02-30' },
        { ...good, intervalsWh: [1, 2] },
      ]);
      expect(receipt.accepted).to.equal(1);
      expect(receipt.refused.map((item) => [item.index, item.code])).to.deep.equal([
        [1, 'INVALID_ARGUMENT'],
        [2, 'INVALID_ARGUMENT'],
      ]);
      const tx = s.ledger.lastCommitted();
      expect(tx.publicWrites).to.deep.equal([]);
      expect(tx.endorser).to.equal(UTILITY_A);
    });

    it('refuses a day older than the history keeps', async () => {
      const receipt = await s.recordDays([
        { homeId: bus1[0], bus: 'bus-1', date: '2026-08-01', intervalsWh: dayReadings(1, 1, 1) },
      ]);
      expect(receipt.refused[0]).to.include({ index: 0, code: 'FAILED_PRECONDITION' });
      expect(receipt.refused[0]?.message).to.match(/60 days/);
    });

    it('refuses a day that is not over yet', async () => {
      const receipt = await s.recordDays([
        { homeId: bus1[0], bus: 'bus-1', date: DAY_AFTER, intervalsWh: dayReadings(1, 1, 1) },
      ]);
      expect(receipt.refused).to.deep.equal([
        {
          index: 0,
          code: 'FAILED_PRECONDITION',
          message: 'days[0] is a day that is not over yet: a day is delivered once it is over',
        },
      ]);
    });

    it('is for the meter head-end on its own peer', async () => {
      const day = [{ homeId: bus1[0], bus: 'bus-1', date: EVENT_DATE, intervalsWh: dayReadings(1, 1, 1) }];
      await expectRefusal(s.recordDays(day, { who: identities.relay(UTILITY_A) }), 'FORBIDDEN');
      await expectRefusal(s.recordDays(day, { peer: UTILITY_B }), 'FORBIDDEN', /own organization/);
      await expectRefusal(s.recordDays([]), 'INVALID_ARGUMENT', /at least one/);
    });
  });

  describe('DeclareEvent', () => {
    it('refuses what a baseline cannot serve, before any token moves', async () => {
      await s.openPeakSlot('ev-offpeak', '18:00', 'off-peak');
      await s.openPeakSlot('ev-saturday', '2026-11-21T17:00:00Z');
      await s.openPeakSlot('ev-1745', '17:45');
      await s.openPeakSlot('ev-early', '02:00');
      const cases: [unknown, string, RegExp][] = [
        [{ ...TERMS, slotIds: ['ev-offpeak'] }, 'FAILED_PRECONDITION', /not scheduled in the peak period/],
        [{ ...TERMS, slotIds: ['ev-saturday'] }, 'FAILED_PRECONDITION', /weekday/],
        [{ ...TERMS, slotIds: ['ev-1700', 'ev-1745'] }, 'FAILED_PRECONDITION', /unbroken run/],
        [{ ...TERMS, slotIds: ['ev-early'] }, 'FAILED_PRECONDITION', /4 hours before the event/],
        [{ ...TERMS, slotIds: ['no-such-slot'] }, 'NOT_FOUND', /no-such-slot/],
        [{ ...TERMS, slotIds: [] }, 'INVALID_ARGUMENT', /at least one slot/],
        [{ ...TERMS, slotIds: ['ev-1700', 'ev-1700'] }, 'INVALID_ARGUMENT', /twice/],
        [{ ...TERMS, rate: 0 }, 'INVALID_ARGUMENT', /greater than 0/],
        [{ ...TERMS, rate: 0.00001 }, 'INVALID_ARGUMENT', /decimal/],
        [{ ...TERMS, budget: '0' }, 'INVALID_ARGUMENT', /greater than 0/],
        [{ ...TERMS, budget: '1000' }, 'FAILED_PRECONDITION', /pool does not cover/],
        [{ ...TERMS, method: 'average' }, 'INVALID_ARGUMENT', /method/],
        [{ ...TERMS, extra: 1 }, 'INVALID_ARGUMENT', /extra/],
      ];
      for (const [terms, code, pattern] of cases) {
        await expectRefusal(s.declare('bad-event', terms), code, pattern);
      }
      await expectRefusal(s.declare('bad-event', TERMS, identities.admin(UTILITY_A)), 'FORBIDDEN');
      expect((await s.account('pool:DSOMSP')).balance).to.equal('1500000000000');
    });

    it('moves the budget from the pool into allotments owned by each utility’s peer', async () => {
      const { event, allotments } = (await s.declare('dr-1', TERMS)) as {
        event: Record<string, unknown>;
        allotments: { org: string; allotted: string }[];
      };
      expect(event).to.include({
        date: EVENT_DATE,
        start: 68,
        end: 70,
        ratePriceUnits: 5_000_000,
        budget: '1000000000000',
      });
      // Enrolled: UtilityA 7 homes, UtilityB 5; the unit left by rounding goes to the larger.
      expect(allotments.map((entry) => [entry.org, entry.allotted])).to.deep.equal([
        [UTILITY_A, '583333333334'],
        [UTILITY_B, '416666666666'],
      ]);
      const owned = [...s.ledger.validationParameters.keys()].filter((key) =>
        key.includes('hems.drallotment'),
      );
      expect(owned.map((key) => s.ledger.keyPolicyOrgs(key))).to.deep.equal([[UTILITY_A], [UTILITY_B]]);
      expect(s.ledger.lastCommitted().events.map((entry) => entry.name)).to.deep.equal(['DrEventDeclared']);
      expect((await s.account('pool:DSOMSP')).balance).to.equal('500000000000');
      expect((await s.reconcile()).reconciled).to.equal(true);
      await expectRefusal(s.declare('dr-1', { ...TERMS, budget: '1' }), 'CONFLICT');
    });

    it('refuses an event over intervals another event covers: a reduction is paid once', async () => {
      // The same slot, and another slot delivering in the same quarter hour.
      await s.openPeakSlot('ev-1715-again', '17:15');
      for (const slotIds of [['ev-1715'], ['ev-1715-again']]) {
        await expectRefusal(
          s.declare('dr-overlap', { ...TERMS, slotIds }),
          'CONFLICT',
          /event dr-1 already covers/,
        );
      }
    });
  });

  describe('PayRewards', () => {
    it('waits until every slot of the event is dispatched', async () => {
      await expectRefusal(s.pay('dr-1', bus1), 'FAILED_PRECONDITION', /not dispatched yet/);
      s.ledger.advance(16 * MINUTE);
      for (const slotId of EVENT_SLOTS) {
        await s.dispatch(slotId, '0.5');
      }
    });

    it('pays max(0, baseline − metered) × rate from the private history, to the watt-hour', async () => {
      // History: 100 Wh per interval, 200 Wh from 17:00. Event day: 120 Wh in the adjustment window
      // (+20 %, within the 40 % cap), so the baseline is 240 Wh per event interval; the homes used
      // 40, 240, 300, 0, 100 Wh per interval.
      const metered = [40, 240, 300, 0, 100];
      for (const [index, homeId] of bus1.entries()) {
        await s.backfill(
          UTILITY_A,
          homeId,
          'bus-1',
          dayReadings(100, 100, 200),
          dayReadings(100, 120, metered[index]!),
        );
      }
      await s.backfill(UTILITY_A, bus2Home, 'bus-2', dayReadings(100, 100, 200), dayReadings(100, 100, 150));
      const before = (await s.account(await s.accountIdOf(UTILITY_A, bus1[0]!))).balance;
      const receipt = await s.pay('dr-1', [...bus1, bus2Home, 'dr-no-history']);
      // Reductions: 2 × (240 − 40) = 400, 0, 0 (used more), 480, 280; bus-2: 2 × (200 − 150) = 100.
      const paid = (400n + 480n + 280n + 100n) * RATE_UNITS;
      expect(receipt).to.include({ accepted: 6, paid: paid.toString() });
      expect(receipt.refused).to.deep.equal([
        { index: 6, code: 'FAILED_PRECONDITION', message: 'the utility holds no meter history of this home' },
      ]);
      const after = (await s.account(await s.accountIdOf(UTILITY_A, bus1[0]!))).balance;
      expect(BigInt(after) - BigInt(before)).to.equal(400n * RATE_UNITS);
      const tx = s.ledger.lastCommitted();
      expect(tx.endorser).to.equal(UTILITY_A);
      expect(tx.events.map((entry) => entry.name)).to.deep.equal(['DrRewardsPaid']);
      const { allotments } = await s.event('dr-1');
      expect(allotments[0]).to.include({ paid: paid.toString(), homes: 6, rewarded: 4 });
      expect((await s.reconcile()).reconciled).to.equal(true);
    });

    it('pays each home once', async () => {
      const receipt = await s.pay('dr-1', [bus1[0], bus1[0]]);
      expect(receipt.accepted).to.equal(0);
      expect(receipt.refused.map((item) => item.code)).to.deep.equal(['CONFLICT', 'CONFLICT']);
    });

    it('lets a device read its own baseline and reward, on its utility’s peer only', async () => {
      const device = await s.device(UTILITY_A, 'bus-1');
      await s.openAccount(UTILITY_A, device.homeId);
      await s.backfill(
        UTILITY_A,
        device.homeId,
        'bus-1',
        dayReadings(100, 100, 200),
        dayReadings(100, 100, 200),
      );
      const mine = await s.ledger.evaluateJson<Record<string, unknown>>(
        identities.relay(UTILITY_A),
        (ctx) => s.dr.GetMyReward(ctx, 'dr-1'),
        { peer: UTILITY_A, transient: { certificate: device.pem } },
      );
      // An under-reporting device gains nothing: the reward reads the meter, never the device's report.
      expect(mine).to.include({
        baselineTotalWh: 400,
        meteredTotalWh: 400,
        reductionWh: 0,
        reward: '0',
        paid: false,
      });
      expect(mine.baselineWh).to.deep.equal([200, 200]);
      expect(mine.daysUsed).to.have.length(5);
      await expectRefusal(
        s.ledger.evaluate(identities.relay(UTILITY_A), (ctx) => s.dr.GetMyReward(ctx, 'dr-1'), {
          peer: UTILITY_B,
          transient: { certificate: device.pem },
        }),
        'FORBIDDEN',
      );
      const paid = await s.pay('dr-1', [device.homeId]);
      expect(paid).to.include({ accepted: 1, paid: '0' });
    });

    it('refuses a home without an account, and whatever the allotment no longer covers', async () => {
      await s.backfill(
        UTILITY_A,
        'dr-no-account',
        'bus-1',
        dayReadings(100, 100, 200),
        dayReadings(100, 100, 0),
      );
      const receipt = await s.pay('dr-1', ['dr-no-account']);
      expect(receipt.refused[0]).to.include({ code: 'FAILED_PRECONDITION' });
      expect(receipt.refused[0]?.message).to.match(/no token account/);
      // A second event whose allotment covers less than one Wh of reduction at the rate.
      await s.openPeakSlot('ev-1800', '18:00');
      await s.declare('dr-tiny', { ...TERMS, slotIds: ['ev-1800'], budget: '0.0001' });
      s.ledger.advance(16 * MINUTE);
      await s.dispatch('ev-1800', '0.5');
      const tiny = await s.pay('dr-tiny', [bus1[0]]);
      expect(tiny).to.include({ accepted: 0, paid: '0' });
      expect(tiny.refused[0]?.message).to.match(/does not cover this reward/);
    });
  });

  describe('PublishRewardTotals and AuditEvent', () => {
    it('publishes per-bus sums from k homes on, only the count below', async () => {
      const allotment = (await s.publishTotals('dr-1')) as { totals: Record<string, unknown>[] };
      expect(allotment.totals).to.deep.equal([
        {
          bus: 'bus-1',
          withheld: false,
          homes: 6,
          baselineWh: 6 * 480 - 80,
          meteredWh: 80 + 480 + 600 + 0 + 200 + 400,
          reductionWh: 400 + 480 + 280,
          reward: ((400n + 480n + 280n) * RATE_UNITS).toString(),
        },
        { bus: 'bus-2', homes: 1, withheld: true },
      ]);
      await expectRefusal(s.publishTotals('dr-1'), 'CONFLICT');
      await expectRefusal(s.pay('dr-1', [bus2Home]), 'FAILED_PRECONDITION', /closed/);
    });

    it('finds the public parts consistent, and a utility that lists payments it did not make', async () => {
      expect(await s.auditEvent('dr-1')).to.include({ consistent: true });
      // A malicious utility rewrites its allotment on its own peer: it claims more paid than it listed.
      await s.ledger.rewriteAlone(
        UTILITY_A,
        (ctx) => ctx.keys.drAllotment('dr-1', UTILITY_A),
        (stored) => ({
          ...stored,
          paid: '99999999999',
          lastPayments: [{ accountId: 'acct-' + '0'.repeat(32), amount: '7' }],
        }),
      );
      const audit = await s.auditEvent('dr-1');
      expect(audit.consistent).to.equal(false);
      expect(audit.problems.join('\n'))
        .to.match(/not a whole multiple of the rate/)
        .and.match(/add up to/);
      expect((await s.reconcile()).reconciled).to.equal(false);
    });
  });

  describe('a malicious member on its own peer', () => {
    it('cannot pay from another utility’s allotment, refill its own, or take from the DSO’s pool', async () => {
      const inflate = (stored: Record<string, unknown>): unknown => ({
        ...stored,
        allotted: '999999999999999',
      });
      // UtilityB's modified chaincode rewrites UtilityA's allotment: the key's policy names A's peer.
      await expectRefusal(
        s.ledger.rewriteAlone(UTILITY_B, (ctx) => ctx.keys.drAllotment('dr-1', UTILITY_A), inflate),
        'ENDORSEMENT_POLICY_FAILURE',
      );
      // Its own allotment it can rewrite, but the auditor holds it against the declaration.
      await s.ledger.rewriteAlone(UTILITY_B, (ctx) => ctx.keys.drAllotment('dr-1', UTILITY_B), inflate);
      expect((await s.auditEvent('dr-1')).problems.join('\n')).to.match(
        /UtilityBMSP: its allotment states 99999.9999999999, not the 41.6666666666 the declaration allotted/,
      );
      // The pool has no key-level policy: only the majority moves it.
      await expectRefusal(
        s.ledger.rewriteAlone(
          UTILITY_A,
          (ctx) => ctx.keys.account('pool:DSOMSP'),
          (stored) => ({ ...stored, balance: '0' }),
        ),
        'ENDORSEMENT_POLICY_FAILURE',
      );
    });
  });

  describe('a utility paying its own accounts beyond its allotment', () => {
    it('is caught by the reconciliation, which trusts an allotment only up to what the majority allotted', async () => {
      const fresh = await DrScenario.create();
      await fresh.openPeakSlot('ev-1700', '17:00');
      await fresh.fundPool('10');
      await fresh.declare('dr-x', { ...TERMS, slotIds: ['ev-1700'], budget: '10' });
      const accountId = await fresh.accountIdOf(UTILITY_A, 'thief-home');
      await fresh.openAccount(UTILITY_A, 'thief-home');
      expect((await fresh.reconcile()).reconciled).to.equal(true);
      // On its own peer: 100,000 currency into its home's account, "paid" as a reward of dr-x.
      const stolen = (100_000n * 10n ** 10n).toString();
      await fresh.ledger.rewriteAlone(
        UTILITY_A,
        (ctx) => ctx.keys.account(accountId),
        (stored) => ({
          ...stored,
          balance: stolen,
        }),
      );
      await fresh.ledger.rewriteAlone(
        UTILITY_A,
        (ctx) => ctx.keys.drAllotment('dr-x', UTILITY_A),
        (stored) => ({
          ...stored,
          allotted: stolen,
          paid: stolen,
          rewarded: 1,
          lastPayments: [{ accountId, amount: stolen }],
        }),
      );
      const reconciliation = await fresh.reconcile();
      expect(reconciliation.reconciled).to.equal(false);
      expect((reconciliation.unreadable as { dr: number }).dr).to.equal(1);
      expect((await fresh.auditEvent('dr-x')).problems.join('\n')).to.match(
        /not the .* the declaration allotted/,
      );
    });

    it('cannot break GetEvent or AuditEvent with a malformed allotment', async () => {
      const fresh = await DrScenario.create();
      await fresh.openPeakSlot('ev-1700', '17:00');
      await fresh.fundPool('10');
      await fresh.declare('dr-x', { ...TERMS, slotIds: ['ev-1700'], budget: '10' });
      await fresh.ledger.rewriteAlone(
        UTILITY_B,
        (ctx) => ctx.keys.drAllotment('dr-x', UTILITY_B),
        (stored) => ({
          ...stored,
          lastPayments: [{ accountId: 'acct-' + '1'.repeat(32), amount: '1e5' }],
        }),
      );
      const view = (await fresh.event('dr-x')) as unknown as {
        allotments: { org: string }[];
        unreadable: string[];
      };
      expect(view.allotments.map((entry) => entry.org)).to.deep.equal([UTILITY_A]);
      expect(view.unreadable).to.deep.equal([UTILITY_B]);
      const audit = await fresh.auditEvent('dr-x');
      expect(audit.consistent).to.equal(false);
      expect(audit.problems).to.include('UtilityBMSP: its allotment does not parse');
    });
  });

  describe('an under-reporting device', () => {
    it('is flagged by its meter in the slot, and its reward follows the meter, not its report', async () => {
      const fresh = await DrScenario.create();
      await fresh.openPeakSlot('ev-1700', '17:00');
      // Five UtilityA homes forecast the event slot (k = 5, so the summary's counts are public).
      const homes = await fresh.submitMany('ev-1700', UTILITY_A, 'bus-1', [
        [1, 3],
        [1, 3],
        [1, 3],
        [1, 3],
        [1, 3],
      ]);
      await fresh.fundPool('10');
      await fresh.declare('dr-u', { ...TERMS, slotIds: ['ev-1700'], budget: '10' });
      await fresh.publishAggregate('ev-1700', UTILITY_A, 'bus-1');
      fresh.ledger.advance(16 * MINUTE);
      await fresh.dispatch('ev-1700', '0.5');
      // Home 0 draws 3 kW (750 Wh) and its device reports 0.2 kW; the others report what they drew, 0.2 kW.
      for (const home of homes) {
        const payload = Buffer.from(JSON.stringify({ slotId: 'ev-1700', drawnKw: 0.2, nonce: freshNonce() }));
        const forecastBatch = await fresh.forecastBatchOf(UTILITY_A, home, 'ev-1700');
        await fresh.ledger.invoke(
          identities.relay(UTILITY_A),
          (ctx) => fresh.timeslot.ReportConsumption(ctx, 'ev-1700'),
          {
            transient: { ...signPayload(home, payload), forecastBatch: Buffer.from(forecastBatch) },
            peer: UTILITY_A,
          },
        );
      }
      const readings = homes.map((home, index) => ({
        homeId: home.homeId,
        energyWh: index === 0 ? 750 : 50,
      }));
      await fresh.ledger.invoke(
        identities.meter(UTILITY_A),
        (ctx) => fresh.timeslot.RecordMeterReadings(ctx, 'ev-1700'),
        {
          peer: UTILITY_A,
          transient: { readings: JSON.stringify(readings) },
        },
      );
      const { refs } = await fresh.ledger.evaluateJson<{ refs: string[] }>(
        identities.relay(UTILITY_A),
        (ctx) => fresh.timeslot.ListConsumptionRefs(ctx, 'ev-1700'),
        { peer: UTILITY_A },
      );
      const summary = await fresh.ledger.invokeJson<{ consumption: Record<string, unknown> }>(
        identities.relay(UTILITY_A),
        (ctx) => fresh.timeslot.PublishConsumption(ctx, 'ev-1700', 'bus-1'),
        { peer: UTILITY_A, transient: { refs: JSON.stringify(refs) } },
      );
      expect(summary.consumption).to.include({ metered: 5, mismatched: 1 });
      // The day's meter data: baseline 200 Wh at 17:00; home 0 used 750 Wh, the others 50 Wh.
      fresh.ledger.now = new Date(`${DAY_AFTER}T01:00:00Z`);
      for (const [index, home] of homes.entries()) {
        await fresh.openAccount(UTILITY_A, home.homeId);
        await fresh.backfill(
          UTILITY_A,
          home.homeId,
          'bus-1',
          dayReadings(100, 100, 200),
          dayReadings(100, 100, index === 0 ? 750 : 50),
        );
      }
      const paid = await fresh.pay(
        'dr-u',
        homes.map((home) => home.homeId),
      );
      expect(paid).to.include({ accepted: 5, paid: (4n * 150n * RATE_UNITS).toString() });
      const { allotments } = await fresh.event('dr-u');
      const payments = (allotments.find((entry) => entry.org === UTILITY_A)?.lastPayments ?? []) as {
        accountId: string;
      }[];
      const cheater = await fresh.accountIdOf(UTILITY_A, homes[0]!.homeId);
      expect(payments).to.have.length(4);
      expect(payments.map((payment) => payment.accountId)).not.to.include(cheater);
    });
  });

  describe('the payment window', () => {
    it('opens when the event day is over and closes three days later', async () => {
      await s.openPeakSlot('ev-tue', `${DAY_AFTER}T17:00:00Z`);
      await s.declare('dr-tue', { ...TERMS, slotIds: ['ev-tue'], budget: '1' });
      s.ledger.advance(16 * MINUTE);
      await s.dispatch('ev-tue', '0.5');
      await expectRefusal(s.pay('dr-tue', [bus1[0]]), 'FAILED_PRECONDITION', /once its day is over/);
      s.ledger.now = new Date('2026-11-27T00:00:01Z');
      await expectRefusal(s.pay('dr-tiny', [bus2Home]), 'FAILED_PRECONDITION', /payable for 3 days/);
    });
  });

  describe('privacy', () => {
    it('puts no home id, reading, baseline or reduction in public writes, events, answers or errors', () => {
      const surface = s.ledger.publicSurface();
      for (const homeId of [...bus1, bus2Home, 'dr-no-history', 'dr-no-account']) {
        expect(surface).not.to.include(homeId);
      }
      // The readings, baselines and per-home reductions of the test (Wh) never appear as values.
      for (const secret of [
        '"intervalsWh"',
        '"baselineWh":[',
        '"meteredWh":[',
        '"reductionWh":400',
        '"baselineTotalWh"',
      ]) {
        expect(surface).not.to.include(secret);
      }
    });
  });
});
