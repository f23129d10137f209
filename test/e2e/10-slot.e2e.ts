import { type Device, devicesOf, evaluateJson, submitJson } from '@hems/network-client';
import { expect } from 'chai';
import { Actors, UTILITIES, UTILITY_A, UTILITY_B, forecastFor, sumKw, uniqueSlotId } from './support/actors';

interface SlotView {
  status: string;
  aggregates: {
    org: string;
    bus: string;
    homes?: number;
    withheld?: boolean;
    lower?: number;
    upper?: number;
    published: boolean;
  }[];
  busTotals: {
    bus: string;
    homes: number;
    lower: number;
    upper: number;
    orgs: string[];
    withheldOrgs: string[];
  }[];
  dispatch?: { lambda: number; revision: number };
}

describe('a full slot across both utilities on the real network', () => {
  let actors: Actors;

  before(() => {
    actors = new Actors();
  });

  after(() => actors.close());

  it('DSO opens, relays submit device-signed forecasts, utilities publish per-bus sums, DSO dispatches λ, relays read allowed power', async () => {
    const slotId = uniqueSlotId('slot');
    await actors.openSlot(slotId, 120_000);

    const devices: Device[] = UTILITIES.flatMap((mspId) => devicesOf(actors.description, mspId));
    expect(devices.length).to.be.at.least(12);
    const ranges = new Map(devices.map((device, index) => [device, forecastFor(index)] as const));
    // Devices submit concurrently, as a utility's relay would see them.
    await Promise.all(
      devices.map((device) => actors.submitForecast(device, slotId, ...(ranges.get(device) ?? [0, 0]))),
    );

    // Every enrolled home has submitted, so each bus may close before the deadline: each utility
    // lists its forecasts on its own peer and publishes the sums.
    for (const bus of ['bus-1', 'bus-2']) {
      await actors.publishAggregate(UTILITY_A, slotId, bus);
      await actors.publishAggregate(UTILITY_B, slotId, bus);
    }

    const slot = await evaluateJson<SlotView>(actors.dso.contract(), 'GetSlot', [slotId]);
    expect(slot.status).to.equal('AGGREGATED');
    const onBus = (bus: string): Device[] => devices.filter((device) => device.bus === bus);
    const bus1 = slot.busTotals.find((total) => total.bus === 'bus-1');
    expect(bus1?.homes).to.equal(onBus('bus-1').length);
    expect(bus1?.lower).to.equal(sumKw(onBus('bus-1').map((device) => ranges.get(device)?.[0] ?? 0)));
    expect(bus1?.upper).to.equal(sumKw(onBus('bus-1').map((device) => ranges.get(device)?.[1] ?? 0)));
    expect(bus1?.orgs).to.deep.equal([UTILITY_A, UTILITY_B]);
    // Two homes per utility on bus-2: below k = 5, so only the count is published.
    const bus2 = slot.busTotals.find((total) => total.bus === 'bus-2');
    expect(bus2?.withheldOrgs).to.deep.equal([UTILITY_A, UTILITY_B]);
    for (const aggregate of slot.aggregates.filter((agg) => agg.bus === 'bus-2')) {
      expect(aggregate).to.include({
        withheld: true,
        homes: onBus('bus-2').filter((d) => d.mspId === aggregate.org).length,
      });
      expect(aggregate).to.not.have.any.keys('lower', 'upper');
    }

    await submitJson(actors.dso.contract(), 'PublishDispatch', { args: [slotId, '0.35', '', ''] });
    const dispatched = await evaluateJson<SlotView>(actors.auditor.contract(), 'GetSlot', [slotId]);
    expect(dispatched.status).to.equal('DISPATCHED');
    expect(dispatched.dispatch?.lambda).to.equal(0.35);

    for (const device of devices) {
      const [lower, upper] = ranges.get(device) ?? [0, 0];
      const allowed = await actors.allowedPower(device, slotId);
      expect(allowed.lambda).to.equal(0.35);
      expect(allowed.allowedKw).to.be.closeTo(0.35 * upper + 0.65 * lower, 0.0006);
    }
  });
});
