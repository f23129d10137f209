import { expect } from 'chai';
import { identities } from './support/fake-ledger';
import { DEFAULT_PRICES, MINUTE, Scenario, UTILITY_A, UTILITY_B, expectRefusal } from './support/scenario';

interface AggregateView {
  org: string;
  bus: string;
  published: boolean;
  homes?: number;
  withheld?: boolean;
  lower?: number;
  upper?: number;
}

describe('a full timeslot across two utilities', () => {
  it('opens, collects private forecasts, publishes per-bus sums, dispatches λ and gives each home its allowed power', async () => {
    const s = await Scenario.create();
    const opened = JSON.parse(await s.openSlot('slot-1')) as { status: string; expected: unknown[] };
    expect(opened.status).to.equal('OPEN');
    expect(opened.expected).to.have.length(3);

    const aBus1 = [
      [1, 3],
      [2, 4.5],
      [0.25, 0.75],
      [3, 3],
      [1.125, 2],
    ] as const;
    const bBus1 = [
      [2, 6],
      [1, 1.5],
      [0, 2],
      [4, 9.999],
      [0.5, 1],
    ] as const;
    const aDevices = await s.submitMany('slot-1', UTILITY_A, 'bus-1', aBus1);
    await s.submitMany('slot-1', UTILITY_B, 'bus-1', bBus1);
    await s.submitMany('slot-1', UTILITY_A, 'bus-2', [[1, 2]]);

    // Every enrolled home of A/bus-1 and B/bus-1 submitted: both may publish before the deadline.
    await s.publishAggregate('slot-1', UTILITY_A, 'bus-1');
    await s.publishAggregate('slot-1', UTILITY_B, 'bus-1', identities.admin(UTILITY_B));
    // A/bus-2 has 1 of 2 homes: it must wait for the deadline.
    await expectRefusal(
      s.publishAggregate('slot-1', UTILITY_A, 'bus-2'),
      'FAILED_PRECONDITION',
      /still open/,
    );

    s.ledger.advance(16 * MINUTE);
    await s.publishAggregate('slot-1', UTILITY_A, 'bus-2');

    const slot = (await s.getSlot('slot-1', identities.dso())) as {
      status: string;
      aggregates: AggregateView[];
      busTotals: { bus: string; homes: number; lower: number; upper: number; withheldOrgs: string[] }[];
    };
    expect(slot.status).to.equal('AGGREGATED');
    const a1 = slot.aggregates.find((a) => a.org === UTILITY_A && a.bus === 'bus-1');
    expect(a1).to.include({ homes: 5, withheld: false, lower: 7.375, upper: 13.25 });
    const a2 = slot.aggregates.find((a) => a.org === UTILITY_A && a.bus === 'bus-2');
    expect(a2).to.include({ homes: 1, withheld: true });
    expect(a2).to.not.have.property('lower');
    expect(a2).to.not.have.property('upper');
    const bus1 = slot.busTotals.find((t) => t.bus === 'bus-1');
    expect(bus1).to.deep.include({ homes: 10, lower: 14.875, upper: 33.749 });
    expect(slot.busTotals.find((t) => t.bus === 'bus-2')?.withheldOrgs).to.deep.equal([UTILITY_A]);

    const dispatched = JSON.parse(
      await s.dispatch('slot-1', '0.4', JSON.stringify([{ bus: 'bus-2', lambda: 1 }])),
    ) as {
      status: string;
      dispatch: { lambda: number; revision: number; missing: unknown[] };
    };
    expect(dispatched.status).to.equal('DISPATCHED');
    expect(dispatched.dispatch).to.include({ lambda: 0.4, revision: 0 });
    expect(dispatched.dispatch.missing).to.deep.equal([]);

    for (const [index, device] of aDevices.entries()) {
      const homeRef = await s.homeRef(UTILITY_A, device, 'slot-1');
      const result = JSON.parse(
        await s.ledger.evaluate(identities.relay(UTILITY_A), (ctx) =>
          s.timeslot.GetAllowedPower(ctx, 'slot-1', homeRef),
        ),
      ) as { allowedKw: number; lambda: number };
      const [lower, upper] = aBus1[index] ?? [0, 0];
      expect(result.lambda).to.equal(0.4);
      expect(result.allowedKw).to.be.closeTo(0.4 * upper + 0.6 * lower, 0.0005);
    }

    s.ledger.advance(60 * MINUTE);
    const settled = JSON.parse(
      await s.ledger.invoke(identities.dso(), (ctx) => s.timeslot.SettleSlot(ctx, 'slot-1')),
    ) as { status: string };
    expect(settled.status).to.equal('SETTLED');
  });

  it('derives the status OPEN, CLOSED, AGGREGATED, DISPATCHED and SETTLED from the ledger and the transaction time', async () => {
    const s = await Scenario.create();
    await s.openSlot('slot-s', { prices: DEFAULT_PRICES });
    expect((await s.getSlot('slot-s')).status).to.equal('OPEN');
    s.ledger.advance(15 * MINUTE);
    expect((await s.getSlot('slot-s')).status).to.equal('CLOSED');
    for (const { org, bus } of [
      { org: UTILITY_A, bus: 'bus-1' },
      { org: UTILITY_A, bus: 'bus-2' },
      { org: UTILITY_B, bus: 'bus-1' },
    ]) {
      await s.publishAggregate('slot-s', org, bus);
    }
    expect((await s.getSlot('slot-s')).status).to.equal('AGGREGATED');
    await s.dispatch('slot-s', '1');
    expect((await s.getSlot('slot-s')).status).to.equal('DISPATCHED');
    await s.ledger.invoke(identities.dso(), (ctx) => s.timeslot.SettleSlot(ctx, 'slot-s'));
    expect((await s.getSlot('slot-s')).status).to.equal('SETTLED');
  });
});
