import { expect } from 'chai';
import fc from 'fast-check';
import {
  createHomeProfile,
  drawnPower,
  priceResponse,
  slotDemand,
  SLOTS_PER_DAY,
} from '../../scripts/day/appliance-model';

const decimals = (value: number): number => (String(value).split('.')[1] ?? '').length;

describe('day: appliance model', () => {
  it('keeps every forecast within 0 ≤ Lmin ≤ preferred ≤ Lmax ≤ 50 kW with at most three decimals', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.integer({ min: 0, max: 999 }),
        fc.integer({ min: 0, max: SLOTS_PER_DAY - 1 }),
        fc.option(
          fc.record({
            lower: fc.double({ min: -50, max: 400, noNaN: true }),
            upper: fc.double({ min: -50, max: 400, noNaN: true }),
          }),
        ),
        (seed, home, slot, prices) => {
          const demand = slotDemand(createHomeProfile(seed, home), seed, home, slot, prices);
          expect(demand.lower).to.be.at.least(0);
          expect(demand.preferredKw).to.be.at.least(demand.lower);
          expect(demand.upper).to.be.at.least(demand.preferredKw);
          expect(demand.upper).to.be.at.most(50);
          for (const value of [demand.lower, demand.upper, demand.preferredKw]) {
            expect(decimals(value)).to.be.at.most(3);
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('gives the same profile and forecasts for the same seed, and different ones for another seed', () => {
    const prices = { lower: 30, upper: 90 };
    const day = (seed: number) =>
      Array.from({ length: SLOTS_PER_DAY }, (_, slot) =>
        slotDemand(createHomeProfile(seed, 3), seed, 3, slot, prices),
      );
    expect(createHomeProfile(7, 3)).to.deep.equal(createHomeProfile(7, 3));
    expect(day(7)).to.deep.equal(day(7));
    expect(day(8)).to.not.deep.equal(day(7));
    expect(createHomeProfile(7, 4)).to.not.deep.equal(createHomeProfile(7, 3));
  });

  it('never wants more when the price is higher, and gives up flexible load on expensive slots', () => {
    let strictlyLess = 0;
    for (let home = 0; home < 40; home += 1) {
      const profile = createHomeProfile(1, home);
      for (let slot = 0; slot < SLOTS_PER_DAY; slot += 4) {
        const cheap = slotDemand(profile, 1, home, slot, { lower: 10, upper: 30 });
        const dear = slotDemand(profile, 1, home, slot, { lower: 100, upper: 250 });
        expect(dear.upper, `home ${home} slot ${slot}`).to.be.at.most(cheap.upper);
        expect(dear.lower, `home ${home} slot ${slot}`).to.be.at.most(cheap.lower);
        if (dear.upper < cheap.upper) {
          strictlyLess += 1;
        }
      }
    }
    expect(strictlyLess).to.be.greaterThan(500);
  });

  it('maps price ranges to a response between 0 and 1', () => {
    expect(priceResponse(null)).to.equal(0);
    expect(priceResponse({ lower: 0, upper: 10 })).to.equal(0);
    expect(priceResponse({ lower: 0, upper: 120 })).to.equal(0.5);
    expect(priceResponse({ lower: 0, upper: 1000 })).to.equal(1);
  });

  it('draws what the home wants up to its allowance, so never more than allowed and never less than Lmin', () => {
    const demand = { lower: 1.2, upper: 6.4, preferredKw: 5.1 };
    expect(drawnPower(demand, 9)).to.equal(5.1);
    expect(drawnPower(demand, 3.333)).to.equal(3.333);
    expect(drawnPower(demand, 1.2)).to.equal(1.2);
    expect(() => drawnPower(demand, Number.NaN)).to.throw(RangeError);
    expect(() => drawnPower(demand, -1)).to.throw(RangeError);
  });

  it('refuses a slot that is not a whole number ≥ 0', () => {
    const profile = createHomeProfile(1, 0);
    expect(() => slotDemand(profile, 1, 0, -1, null)).to.throw(RangeError);
    expect(() => slotDemand(profile, 1, 0, 1.5, null)).to.throw(RangeError);
  });
});
