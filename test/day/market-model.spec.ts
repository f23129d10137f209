import { expect } from 'chai';
import { checkOrder } from '@hems/device-client';
import {
  createHomeProfile,
  slotDemand,
  slotPower,
  surplusKw,
  timeOfDay,
  type HomeProfile,
} from '../../scripts/day/appliance-model';
import {
  availableEnergyKwh,
  CLOSE_DELAY_MS,
  closeDelayMs,
  formatValue,
  isProsumer,
  kwhFromWh,
  meteredWh,
  MIN_DELIVERY_MS,
  MIN_ORDER_KWH,
  orderValueUnits,
  paddedEscrow,
  planOrder,
  priceFromUnits,
  windowTimes,
} from '../../scripts/day/market-model';
import { defaultPrices } from '../../scripts/day/tariff';

const SEED = 5;
const HOMES = 60;

const profiles = Array.from({ length: HOMES }, (_, index) => createHomeProfile(SEED, index));
const withPv = (profile: HomeProfile): boolean => profile.pv !== null;

/** Whole Wh, as the chaincode requires of every energy. */
function isWholeWh(kwh: number): boolean {
  return Math.round(kwh * 1000) / 1000 === kwh;
}

describe('day: market model (auction orders, meters, window times)', () => {
  it('computes the surplus as PV minus the wanted load minus battery charging, never below 0', () => {
    for (const [index, profile] of profiles.entries()) {
      for (const slot of [4, 40, 48, 56, 76]) {
        const prices = defaultPrices(slot);
        const power = slotPower(profile, SEED, index, slot, prices);
        const surplus = surplusKw(profile, SEED, index, slot, prices);
        expect(surplus).to.be.at.least(0);
        expect(surplus).to.be.closeTo(Math.max(0, power.pvKw - power.wantedKw - power.chargingKw), 1e-12);
        if (!withPv(profile)) {
          expect(surplus).to.equal(0);
        }
      }
    }
    // At night no home has anything to sell.
    expect(profiles.every((profile, index) => surplusKw(profile, SEED, index, 4, defaultPrices(4)) === 0)).to
      .be.true;
  });

  it('keeps the forecast range the slot model always gave (the surplus is an extra view of it)', () => {
    for (const [index, profile] of profiles.entries()) {
      const prices = defaultPrices(48);
      const power = slotPower(profile, SEED, index, 48, prices);
      const demand = slotDemand(profile, SEED, index, 48, prices);
      const round3 = (kw: number): number => Math.round(kw * 1000) / 1000;
      expect(demand.lower).to.equal(round3(Math.max(0, power.mustKw - power.pvKw - power.dischargingKw)));
      expect(demand.upper).to.equal(
        round3(Math.max(demand.lower, power.wantedKw - power.pvKw + power.chargingKw)),
      );
    }
  });

  it('posts as available what the prosumer can export over the slot, in whole Wh; nothing for consumers', () => {
    let positive = 0;
    for (const [index, profile] of profiles.entries()) {
      const prices = defaultPrices(45);
      const available = availableEnergyKwh(profile, SEED, index, 45, prices);
      expect(isWholeWh(available), String(available)).to.be.true;
      if (isProsumer(profile)) {
        const exact = surplusKw(profile, SEED, index, 45, prices) * 0.25;
        expect(available).to.be.at.most(exact + 1e-12);
        expect(available).to.be.above(exact - 0.001);
        positive += available > 0 ? 1 : 0;
      } else {
        expect(available).to.equal(0);
      }
    }
    expect(positive, 'some prosumers have a surplus late in the morning').to.be.greaterThan(3);
  });

  it('has prosumers offer their available energy below the lower price and consumers bid their flexible demand near the upper price', () => {
    const sides = { offer: 0, bid: 0, none: 0 };
    for (const slot of [5, 41, 49, 73]) {
      const prices = defaultPrices(slot);
      for (const [index, profile] of profiles.entries()) {
        const order = planOrder(profile, SEED, index, slot, prices);
        if (order === null) {
          sides.none += 1;
          if (isProsumer(profile)) {
            expect(availableEnergyKwh(profile, SEED, index, slot, prices)).to.be.below(MIN_ORDER_KWH);
          } else {
            const demand = slotDemand(profile, SEED, index, slot, prices);
            expect((demand.upper - demand.lower) * 0.25).to.be.below(MIN_ORDER_KWH + 0.001);
          }
          continue;
        }
        sides[order.side] += 1;
        expect(order.energyKwh).to.be.at.least(MIN_ORDER_KWH);
        expect(isWholeWh(order.energyKwh)).to.be.true;
        expect(Math.round(order.limitPrice * 100) / 100).to.equal(order.limitPrice);
        // The gateway client accepts it as it is (it checks the chaincode's rules).
        expect(() =>
          checkOrder({ ...order, ...(order.side === 'bid' ? { escrow: paddedEscrow(order) } : {}) }),
        ).to.not.throw();
        if (order.side === 'offer') {
          expect(isProsumer(profile)).to.be.true;
          // Exactly the energy the meter head-end posts: never above it, so never refused.
          expect(order.energyKwh).to.equal(availableEnergyKwh(profile, SEED, index, slot, prices));
          expect(order.limitPrice).to.be.within(prices.lower * 0.6 - 0.005, prices.lower * 0.9 + 0.005);
        } else {
          expect(isProsumer(profile)).to.be.false;
          const demand = slotDemand(profile, SEED, index, slot, prices);
          expect(order.energyKwh).to.be.closeTo((demand.upper - demand.lower) * 0.25, 0.001);
          expect(order.limitPrice).to.be.within(prices.upper * 0.85 - 0.005, prices.upper + 0.005);
        }
        // Every offer's minimum is below every bid's maximum: the slot's range separates them.
        expect(prices.lower * 0.9).to.be.below(prices.upper * 0.85);
      }
    }
    expect(sides.offer).to.be.greaterThan(5);
    expect(sides.bid).to.be.greaterThan(20);
    // Reproducible from the seed.
    expect(planOrder(createHomeProfile(SEED, 3), SEED, 3, 45, defaultPrices(45))).to.deep.equal(
      planOrder(profiles[3] ?? createHomeProfile(0, 0), SEED, 3, 45, defaultPrices(45)),
    );
  });

  it('pads a bid escrow to whole currency units that cover its value', () => {
    expect(orderValueUnits({ energyKwh: 1.5, limitPrice: 80 })).to.equal(1500n * 800_000n);
    // 1.5 kWh × 80 per MWh = 0.12: one whole unit.
    expect(paddedEscrow({ energyKwh: 1.5, limitPrice: 80 })).to.equal('1');
    // 40 kWh × 100 per MWh = 4 exactly; 40.001 kWh needs a fifth unit.
    expect(paddedEscrow({ energyKwh: 40, limitPrice: 100 })).to.equal('4');
    expect(paddedEscrow({ energyKwh: 40.001, limitPrice: 100 })).to.equal('5');
    expect(paddedEscrow({ energyKwh: 0.01, limitPrice: 0 })).to.equal('1');
    for (const order of [
      { energyKwh: 2.345, limitPrice: 123.45 },
      { energyKwh: 0.011, limitPrice: 0.01 },
      { energyKwh: 99.999, limitPrice: 999.99 },
    ]) {
      const escrow = BigInt(paddedEscrow(order)) * 10n ** 10n;
      expect(escrow >= orderValueUnits(order)).to.be.true;
      expect(escrow - orderValueUnits(order) < 10n ** 10n).to.be.true;
    }
  });

  it('meters 90-100 % of each trade side in whole Wh, reproducibly, independently per side and trade', () => {
    const readings = new Set<number>();
    for (let trade = 1; trade <= 50; trade += 1) {
      for (const side of ['offer', 'bid'] as const) {
        const wh = meteredWh(SEED, 7, 45, `t${trade}`, side, 2000);
        expect(Number.isInteger(wh)).to.be.true;
        expect(wh).to.be.within(1800, 2000);
        expect(meteredWh(SEED, 7, 45, `t${trade}`, side, 2000)).to.equal(wh);
        readings.add(wh);
      }
    }
    expect(readings.size, 'the readings vary').to.be.greaterThan(30);
    expect(meteredWh(SEED, 7, 45, 't1', 'offer', 0)).to.equal(0);
    expect(meteredWh(SEED, 7, 45, 't1', 'offer', 1)).to.be.within(0, 1);
    expect(() => meteredWh(SEED, 7, 45, 't1', 'bid', 1.5)).to.throw(RangeError, /whole number of Wh/);
    expect(() => meteredWh(SEED, 7, 45, 't1', 'bid', -1)).to.throw(RangeError);
  });

  it('keeps a window open for the previous ordering time and a half plus 2 s, within bounds', () => {
    expect(closeDelayMs(undefined)).to.equal(CLOSE_DELAY_MS.initial);
    expect(closeDelayMs(0)).to.equal(CLOSE_DELAY_MS.min);
    expect(closeDelayMs(4_000)).to.equal(8_000);
    expect(closeDelayMs(6_001)).to.equal(11_002);
    expect(closeDelayMs(60_000)).to.equal(CLOSE_DELAY_MS.max);
    expect(() => closeDelayMs(Number.NaN)).to.throw(RangeError);
    expect(() => closeDelayMs(-1)).to.throw(RangeError);
  });

  it("times a window: closes after the delay, delivers in the delivery slot's period but never before the close", () => {
    const now = Date.parse('2026-11-21T10:00:00Z');
    // Paced, the slot comfortably after the close: delivery is the slot's period.
    const paced = windowTimes(now, 8_000, { start: now + 10_000, end: now + 15_000 });
    expect(paced.closesAt.getTime()).to.equal(now + 8_000);
    expect(paced.deliveryStart.getTime()).to.equal(now + 10_000);
    expect(paced.deliveryEnd.getTime()).to.equal(now + 15_000);
    // The auction lags behind the slot: delivery starts at the close and lasts at least 1 s.
    const lagging = windowTimes(now, 8_000, { start: now + 5_000, end: now + 8_500 });
    expect(lagging.deliveryStart.getTime()).to.equal(now + 8_000);
    expect(lagging.deliveryEnd.getTime()).to.equal(now + 8_000 + MIN_DELIVERY_MS);
    // Unpaced: right after the close.
    const unpaced = windowTimes(now, 4_000, null);
    expect(unpaced.deliveryStart.getTime()).to.equal(now + 4_000);
    expect(unpaced.deliveryEnd.getTime()).to.equal(now + 4_000 + MIN_DELIVERY_MS);
    for (const times of [paced, lagging, unpaced]) {
      expect(times.closesAt.getTime()).to.be.at.most(times.deliveryStart.getTime());
      expect(times.deliveryStart.getTime()).to.be.below(times.deliveryEnd.getTime());
    }
  });

  it('converts the ledger units exactly: value units to currency, price units, Wh', () => {
    expect(formatValue('0')).to.equal('0');
    expect(formatValue('12345000000')).to.equal('1.2345');
    expect(formatValue('10000000000')).to.equal('1');
    expect(formatValue('1')).to.equal('0.0000000001');
    expect(formatValue('123456789012345678901')).to.equal('12345678901.2345678901');
    expect(formatValue('-25000000')).to.equal('-0.0025');
    expect(() => formatValue('1.5')).to.throw(RangeError);
    expect(() => formatValue('')).to.throw(RangeError);
    expect(priceFromUnits(412_345)).to.equal(41.2345);
    expect(priceFromUnits(0)).to.equal(0);
    expect(kwhFromWh(3217)).to.equal(3.217);
    expect(kwhFromWh(0)).to.equal(0);
    expect(timeOfDay(0)).to.equal('00:00');
    expect(timeOfDay(41)).to.equal('10:15');
    expect(timeOfDay(95)).to.equal('23:45');
  });
});
