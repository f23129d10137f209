import { expect } from 'chai';
import { historyDates } from '../../scripts/day/days';
import { layoutFeeder } from '../../scripts/day/feeder-model';
import { HISTORY_DAYS, HomeAppliances } from '../../scripts/day/home-appliances';
import {
  addOutcomes,
  backfillItems,
  batches,
  chunked,
  historyOf,
  MAX_METER_DAYS,
  NO_METER_DAYS,
  postInBatches,
  type MeterDayItem,
  type MeteredHome,
  type MeterDaysOutcome,
} from '../../scripts/day/meter-history';
import { busPrices } from '../../scripts/day/slot-run';
import { pricesOnBus } from '../../scripts/day/tariff';

const SEED = 5;
const feeder = layoutFeeder(12, 2);
const homes: MeteredHome[] = feeder.homes.map((spec) => ({
  homeId: `home-${spec.index}`,
  bus: spec.bus,
  index: spec.index,
  tariff: (slot: number) => pricesOnBus(busPrices(slot % 96, feeder), spec.bus),
}));

describe('day: meter history of the homes', () => {
  it('generates 45 days of whole Wh per 15-minute interval from the appliance model and the seed', () => {
    const [home] = homes;
    if (home === undefined) {
      throw new Error('fixture');
    }
    const days = historyOf(SEED, home);
    expect(days).to.have.length(HISTORY_DAYS);
    for (const day of days) {
      expect(day).to.have.length(96);
      expect(day.every((wh) => Number.isInteger(wh) && wh >= 0)).to.be.true;
      // A home always runs its fridge and standby load; the evening brings more.
      expect(day.reduce((sum, wh) => sum + wh, 0)).to.be.within(5_000, 80_000);
    }
    // The appliance model's own metered history: the same homes played unsteered at the tariff.
    const appliances = new HomeAppliances(SEED, home.index, 0);
    for (let slot = 0; slot < HISTORY_DAYS * 96; slot += 1) {
      appliances.draw(slot, null, home.tariff(slot));
    }
    expect(days).to.deep.equal(appliances.meteredHistory().map((day) => day.intervalsWh));
    expect(historyOf(SEED, home)).to.deep.equal(days);
    expect(historyOf(SEED + 1, home)).to.not.deep.equal(days);
    expect(() => historyOf(SEED, home, HISTORY_DAYS + 1)).to.throw(RangeError);
  });

  it('backfills every home for every history date, oldest first, home by home', () => {
    const dates = historyDates('2026-12-07');
    const items = [...backfillItems(SEED, homes.slice(0, 3), dates)];
    expect(items).to.have.length(3 * HISTORY_DAYS);
    homes.slice(0, 3).forEach((home, position) => {
      const own = items.slice(position * HISTORY_DAYS, (position + 1) * HISTORY_DAYS);
      expect(own.map((item) => item.date)).to.deep.equal(dates);
      expect(own.every((item) => item.homeId === home.homeId && item.bus === home.bus)).to.be.true;
      expect(own.map((item) => item.intervalsWh)).to.deep.equal(historyOf(SEED, home));
    });
  });

  it('splits posts into at most 200 home-days each, nothing lost or repeated', () => {
    expect(MAX_METER_DAYS).to.equal(200);
    expect(batches([1, 2, 3, 4, 5], 2)).to.deep.equal([[1, 2], [3, 4], [5]]);
    expect(batches([], 200)).to.deep.equal([]);
    expect(() => batches([1], 0)).to.throw(RangeError);
    expect([...chunked([1, 2, 3, 4, 5].values(), 5)]).to.deep.equal([[1, 2, 3, 4, 5]]);
    const items = [...backfillItems(SEED, homes, historyDates('2026-12-07'))];
    expect(items).to.have.length(12 * HISTORY_DAYS);
    const runs = [...chunked(items, MAX_METER_DAYS)];
    expect(runs.map((run) => run.length)).to.deep.equal([200, 200, 140]);
    expect(runs.flat()).to.deep.equal(items);
  });

  it('posts every batch of ≤ 200 in order, two at a time, and sums the receipts', async () => {
    const items = [...backfillItems(SEED, homes, historyDates('2026-12-07'))];
    const posted: (readonly MeterDayItem[])[] = [];
    let running = 0;
    let mostAtOnce = 0;
    const outcome = await postInBatches(items.values(), async (batch): Promise<MeterDaysOutcome> => {
      posted.push(batch);
      const position = posted.length;
      running += 1;
      mostAtOnce = Math.max(mostAtOnce, running);
      await new Promise((resolve) => setTimeout(resolve, 5));
      running -= 1;
      // The chaincode refuses the first item of the second post, by position, without a value.
      const refused = position === 2 ? 1 : 0;
      return {
        posts: 1,
        items: batch.length,
        accepted: batch.length - refused,
        refused,
        ...(refused > 0 ? { firstRefusal: 'FAILED_PRECONDITION: days[0] is too old' } : {}),
      };
    });
    expect(posted.map((batch) => batch.length)).to.deep.equal([200, 200, 140]);
    expect(posted.every((batch) => batch.length <= MAX_METER_DAYS)).to.be.true;
    expect(posted.flat()).to.deep.equal(items);
    expect(mostAtOnce).to.equal(2);
    expect(outcome).to.deep.equal({
      posts: 3,
      items: 540,
      accepted: 539,
      refused: 1,
      firstRefusal: 'FAILED_PRECONDITION: days[0] is too old',
    });
    expect(await postInBatches([], () => Promise.reject(new Error('never')))).to.deep.equal(NO_METER_DAYS);
    expect(addOutcomes(NO_METER_DAYS, NO_METER_DAYS)).to.deep.equal(NO_METER_DAYS);
  });
});
