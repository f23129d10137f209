import { expect } from 'chai';
import { SLOT_ID_PATTERN } from '@hems/protocol';
import {
  BUDGET_KWH_PER_HOME,
  DR_RATE,
  EMERGENCY_SLOT,
  eventSpan,
  ledgerTotals,
  MAX_REWARD_HOMES,
  planDrEvent,
  signalsOf,
  viewCurrency,
  type EventView,
} from '../../scripts/day/dr-event';
import { batches } from '../../scripts/day/meter-history';

const WHOLE_DAY = { startSlot: 0, slots: 96, homes: 32 };

describe('day: the demand-response event', () => {
  it("runs over the last day's peak slots 17:00-21:00 with an emergency at 19:00", () => {
    const plan = planDrEvent(WHOLE_DAY, 'lx9k2a1', '2026-12-08');
    expect(plan).to.deep.equal({
      eventId: 'dr-lx9k2a1-20261208',
      date: '2026-12-08',
      slots: Array.from({ length: 16 }, (_, offset) => 68 + offset),
      emergencySlot: 76,
      emergencyLevel: 2,
      method: 'residential-5-in-10',
      rate: 0.5,
      budget: String(32 * BUDGET_KWH_PER_HOME * DR_RATE),
    });
    expect(plan?.eventId).to.match(new RegExp(SLOT_ID_PATTERN));
    expect(eventSpan(plan!)).to.deep.equal({ startsAt: '17:00', endsAt: '21:00', start: 68, end: 84 });
    expect(EMERGENCY_SLOT).to.equal(76);
  });

  it('covers the peak slots the day plays; no emergency without 19:00, no event without a peak slot', () => {
    const late = planDrEvent({ startSlot: 72, slots: 24, homes: 10 }, 'r', '2026-12-08');
    expect(late?.slots).to.deep.equal([72, 73, 74, 75, 76, 77, 78, 79, 80, 81, 82, 83]);
    expect(late?.emergencySlot).to.equal(76);
    expect(late?.budget).to.equal('100');
    const evening = planDrEvent({ startSlot: 78, slots: 3, homes: 7 }, 'r', '2026-12-08');
    expect(evening?.slots).to.deep.equal([78, 79, 80]);
    expect(evening?.emergencySlot).to.equal(null);
    expect(evening?.budget).to.equal('70');
    expect(eventSpan(evening!)).to.include({ startsAt: '19:30', endsAt: '20:15' });
    expect(planDrEvent({ startSlot: 36, slots: 3, homes: 20 }, 'r', '2026-12-08')).to.equal(null);
  });

  it('tells the homes the rate in event slots, and the emergency level in its slot only', () => {
    const plan = planDrEvent(WHOLE_DAY, 'r', '2026-12-08');
    expect(signalsOf(plan, 67)).to.deep.equal({});
    expect(signalsOf(plan, 68)).to.deep.equal({ drRate: 0.5 });
    expect(signalsOf(plan, 76)).to.deep.equal({ drRate: 0.5, emergencyLevel: 2 });
    expect(signalsOf(plan, 84)).to.deep.equal({});
    expect(signalsOf(null, 76)).to.deep.equal({});
  });

  it('pays rewards in calls of at most 500 homes', () => {
    const homeIds = Array.from({ length: 1201 }, (_, index) => `home-${index}`);
    const calls = batches(homeIds, MAX_REWARD_HOMES);
    expect(calls.map((call) => call.length)).to.deep.equal([500, 500, 201]);
    expect(calls.flat()).to.deep.equal(homeIds);
  });

  it("reads each utility's published per-bus totals and its amounts from the event view", () => {
    const view: EventView = {
      event: { eventId: 'dr-r-20261208', budget: '3200000000000' },
      allotments: [
        {
          org: 'UtilityAMSP',
          allotted: '1600000000000',
          paid: '25000000000',
          homes: 16,
          totalsPublishedAt: '2026-12-09T10:00:00Z',
          totals: [
            {
              bus: 'feeder-1',
              homes: 6,
              withheld: false,
              baselineWh: 30_000,
              meteredWh: 21_000,
              reductionWh: 9_500,
              reward: '47500000000',
            },
            { bus: 'feeder-2', homes: 3, withheld: true },
          ],
        },
        {
          org: 'UtilityBMSP',
          allotted: '1600000000000',
          paid: '0',
          totalsPublishedAt: '2026-12-09T10:00:00Z',
          totals: [
            {
              bus: 'feeder-1',
              homes: 5,
              withheld: false,
              baselineWh: 20_000,
              meteredWh: 19_000,
              reductionWh: 1_000,
              reward: '5000000000',
            },
          ],
        },
      ],
    };
    const totals = ledgerTotals(view);
    expect(totals.get('feeder-1')?.map((entry) => entry.org)).to.deep.equal(['UtilityAMSP', 'UtilityBMSP']);
    expect(totals.get('feeder-1')?.[0]).to.include({ homes: 6, reductionWh: 9_500, reward: '47500000000' });
    expect(totals.get('feeder-2')).to.deep.equal([{ org: 'UtilityAMSP', homes: 3, withheld: true }]);
    expect(ledgerTotals(undefined).size).to.equal(0);
    // The view's amounts are value units (1e-10 currency), shown in currency.
    expect(viewCurrency('25000000000')).to.equal('2.5');
    expect(viewCurrency('1600000000000')).to.equal('160');
    expect(viewCurrency(undefined)).to.equal(undefined);
  });
});
