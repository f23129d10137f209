import { expect } from 'chai';
import type { SlotView } from '@hems/protocol';
import { FIVE_RANGES, MINUTE, Scenario, UTILITY_A, UTILITY_B } from './support/scenario';

/**
 * One utility runs modified chaincode on its own peer and endorses alone: Fabric lets it write
 * anything under its own aggregate keys (their key-level policy names only its peer). Nothing it
 * writes there may stop or skew the other utilities' sums, the slot's view or the DSO's dispatch.
 */

const slotId = 'slot-1';

type BusTotalView = SlotView['busTotals'][number];

/** UtilityA's peer, running modified code, writes `value` under its own aggregate key of bus-1. */
async function forgeOwnAggregate(s: Scenario, value: Uint8Array | string): Promise<void> {
  await s.ledger.writeAlone(UTILITY_A, async (ctx) => {
    await ctx.stub.putState(ctx.keys.aggregate(slotId, UTILITY_A, 'bus-1'), Buffer.from(value));
  });
}

function aggregateOf(
  org: string,
  values: Record<string, unknown>,
  key: { slotId?: string; org?: string; bus?: string } = {},
): string {
  return JSON.stringify({
    slotId: key.slotId ?? slotId,
    org: key.org ?? org,
    bus: key.bus ?? 'bus-1',
    expectedHomes: 5,
    published: true,
    homes: 5,
    withheld: false,
    lower: 1,
    upper: 2,
    publishedAt: '2026-11-21T10:00:00.000Z',
    publishTxId: 'f'.repeat(64),
    ...values,
  });
}

async function honestUtilityB(s: Scenario): Promise<void> {
  await s.submitMany(slotId, UTILITY_B, 'bus-1', FIVE_RANGES);
  await s.publishAggregate(slotId, UTILITY_B, 'bus-1');
}

function busOne(view: SlotView): BusTotalView | undefined {
  return view.busTotals.find((total) => total.bus === 'bus-1');
}

const FORGERIES: readonly (readonly [string, Uint8Array | string])[] = [
  ['bytes that are not JSON', Buffer.from([0xff, 0x00, 0x7b])],
  ['a JSON array', '[1,2,3]'],
  ['a value naming UtilityB as its org', aggregateOf(UTILITY_A, {}, { org: UTILITY_B })],
  ['a value naming another bus', aggregateOf(UTILITY_A, {}, { bus: 'bus-2' })],
  ['a value naming another slot', aggregateOf(UTILITY_A, {}, { slotId: 'slot-0' })],
  ['negative sums', aggregateOf(UTILITY_A, { lower: -500, upper: -100 })],
  ['a lower sum above the upper one', aggregateOf(UTILITY_A, { lower: 9, upper: 2 })],
  ['sums that are not numbers', aggregateOf(UTILITY_A, { lower: '1', upper: null })],
  ['a fractional home count', aggregateOf(UTILITY_A, { homes: 2.5 })],
  ['published without saying whether it is withheld', aggregateOf(UTILITY_A, { withheld: 'no' })],
  [
    'a consumption summary with a negative draw',
    aggregateOf(UTILITY_A, { consumption: { homes: 5, withheld: false, drawnKw: -1, nonCompliant: 0 } }),
  ],
];

describe('a utility that forges its own aggregate record', () => {
  for (const [what, forged] of FORGERIES) {
    it(`${what}: counts as not published, and the others' sums and the dispatch go on`, async () => {
      const s = await Scenario.withSlot(slotId);
      await honestUtilityB(s);
      await forgeOwnAggregate(s, forged);

      const view = (await s.getSlot(slotId)) as unknown as SlotView;
      expect(view.status).to.equal('OPEN');
      expect(view.aggregates.filter((agg) => agg.org === UTILITY_A && agg.bus === 'bus-1')).to.deep.equal([
        { slotId, org: UTILITY_A, bus: 'bus-1', expectedHomes: 5, published: false },
      ]);
      expect(busOne(view)).to.include({ homes: 5, lower: 4.75, upper: 10.5 });
      expect(busOne(view)?.orgs).to.deep.equal([UTILITY_B]);
      expect(busOne(view)?.pendingOrgs).to.deep.equal([UTILITY_A]);

      // Like a silent utility: excluded at the deadline, never blocking the DSO.
      s.ledger.advance(15 * MINUTE);
      await s.publishAggregate(slotId, UTILITY_A, 'bus-2');
      const dispatched = JSON.parse(await s.dispatch(slotId, '0.5')) as SlotView;
      expect(dispatched.dispatch?.missing).to.deep.equal([{ org: UTILITY_A, bus: 'bus-1' }]);
      expect(busOne(dispatched)).to.include({ homes: 5, lower: 4.75, upper: 10.5 });
    });
  }

  it('cannot speak for UtilityB: a record under its own key naming UtilityB changes nothing of B', async () => {
    const s = await Scenario.withSlot(slotId);
    await forgeOwnAggregate(s, aggregateOf(UTILITY_A, { lower: 100, upper: 200 }, { org: UTILITY_B }));
    const view = (await s.getSlot(slotId)) as unknown as SlotView;
    expect(
      view.aggregates.filter((agg) => agg.bus === 'bus-1').map((agg) => [agg.org, agg.published]),
    ).to.deep.equal([
      [UTILITY_A, false],
      [UTILITY_B, false],
    ]);
    expect(busOne(view)).to.include({ homes: 0, lower: 0, upper: 0 });
    expect(busOne(view)?.pendingOrgs).to.deep.equal([UTILITY_A, UTILITY_B]);
  });

  it('is read as written when the record is well formed for its key (control)', async () => {
    const s = await Scenario.withSlot(slotId);
    await honestUtilityB(s);
    await forgeOwnAggregate(s, aggregateOf(UTILITY_A, { lower: 1, upper: 2 }));
    const view = (await s.getSlot(slotId)) as unknown as SlotView;
    expect(busOne(view)).to.include({ homes: 10, lower: 5.75, upper: 12.5 });
    expect(busOne(view)?.orgs).to.deep.equal([UTILITY_A, UTILITY_B]);
  });
});

describe('a utility that rewrites its aggregate after the dispatch', () => {
  it('changes nothing of what the dispatch used: the slot record keeps the sums it was decided on', async () => {
    const s = await Scenario.withSlot(slotId);
    await honestUtilityB(s);
    await forgeOwnAggregate(s, aggregateOf(UTILITY_A, { lower: 1, upper: 2 }));
    s.ledger.advance(15 * MINUTE);
    await s.publishAggregate(slotId, UTILITY_A, 'bus-2');
    const dispatched = JSON.parse(await s.dispatch(slotId, '0.5')) as SlotView;
    expect(dispatched.dispatch?.aggregates?.filter((agg) => agg.bus === 'bus-1')).to.deep.equal([
      {
        org: UTILITY_A,
        bus: 'bus-1',
        homes: 5,
        withheld: false,
        lower: 1,
        upper: 2,
        publishTxId: 'f'.repeat(64),
      },
      {
        org: UTILITY_B,
        bus: 'bus-1',
        homes: 5,
        withheld: false,
        lower: 4.75,
        upper: 10.5,
        relayAttested: 0,
        publishTxId: (
          dispatched.aggregates.find((agg) => agg.org === UTILITY_B && agg.bus === 'bus-1') as
            { publishTxId?: string } | undefined
        )?.publishTxId,
      },
    ]);
    const before = busOne(dispatched);
    expect(before).to.include({ homes: 10, lower: 5.75, upper: 12.5 });

    // Afterwards A claims far larger sums, then deletes its record: the view stays as dispatched.
    for (const forged of [aggregateOf(UTILITY_A, { homes: 50, lower: 100, upper: 200 }), '']) {
      await forgeOwnAggregate(s, forged);
      const view = (await s.getSlot(slotId)) as unknown as SlotView;
      expect(busOne(view)).to.deep.equal(before);
      expect(view.aggregates.find((agg) => agg.org === UTILITY_A && agg.bus === 'bus-1')).to.include({
        published: true,
        lower: 1,
        upper: 2,
      });
    }
  });
});
