import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { NONCE_BYTES } from '@hems/protocol';
import { ItemLog, type SentItem } from '../../scripts/soak/item-log';
import { verifyTokens, type Reconciliation } from '../../scripts/soak/token-check';
import {
  leafDigest,
  nonceDigest,
  verifyConsumption,
  verifyForecasts,
  verifyOrders,
  type BatchNonces,
  type LedgerAggregate,
} from '../../scripts/soak/verify';

const SLOT = 'soak-test-s0';
const ORG = 'UtilityAMSP';
const GROUP = `${ORG} ${SLOT}`;

function forecast(log: ItemLog, homeId: string, lower: number, upper: number, bus = 'bus-1'): SentItem {
  const nonce = randomBytes(NONCE_BYTES).toString('base64');
  return log.add({ kind: 'forecast', mspId: ORG, bus, homeId, key: SLOT, forecast: { lower, upper, nonce } });
}

/** The batch item ListForecastNonces shows for a stored forecast. */
function stored(item: SentItem, values?: { lower: number; upper: number }): [string, string] {
  const signed = item.forecast!;
  return [nonceDigest(signed.nonce), leafDigest(item.key, item.bus, { ...signed, ...values })];
}

function aggregate(homes: number, lower: number, upper: number, bus = 'bus-1'): LedgerAggregate {
  return { org: ORG, bus, published: true, homes, withheld: homes < 2, lower, upper };
}

describe('soak verification', () => {
  describe('forecasts and aggregates', () => {
    it('finds every acknowledged forecast in the batch its receipt names, once, and the sums match', () => {
      const log = new ItemLog();
      const a = forecast(log, 'home-a', 1.2, 2.5);
      const b = forecast(log, 'home-b', 0.3, 0.301);
      const c = forecast(log, 'home-c', 1, 1); // never acknowledged, but stored
      log.acknowledged(a, 'tx1', false);
      log.acknowledged(b, 'tx2', true);
      c.outcome = 'unacknowledged';
      const batches = new Map<string, BatchNonces[]>([
        [
          GROUP,
          [
            { txId: 'tx2', at: '2030-01-01T00:00:02.000Z', items: [stored(b), stored(c)] },
            { txId: 'tx1', at: '2030-01-01T00:00:01.000Z', items: [stored(a)] },
          ],
        ],
      ]);
      const { figures, aggregates } = verifyForecasts(
        log.items,
        batches,
        new Map([[SLOT, [aggregate(3, 2.5, 3.801)]]]),
      );
      expect(figures).to.include({
        sent: 3,
        acknowledged: 2,
        committed: 3,
        lost: 0,
        duplicated: 0,
        unacknowledged: 1,
      });
      expect(figures.problems).to.deep.equal([]);
      expect(aggregates).to.deep.equal([
        { slotId: SLOT, org: ORG, bus: 'bus-1', published: true, homesInEffect: 3, matches: true },
      ]);
    });

    it('counts an acknowledged forecast missing from its batch as lost, and one stored twice as duplicated', () => {
      const log = new ItemLog();
      const a = forecast(log, 'home-a', 1, 2);
      const b = forecast(log, 'home-b', 1, 2);
      log.acknowledged(a, 'tx1', false);
      log.acknowledged(b, 'tx1', false);
      const batches = new Map<string, BatchNonces[]>([
        [
          GROUP,
          [
            // b went into another batch than its receipt says, and was stored again later (a replay).
            { txId: 'tx1', at: '2030-01-01T00:00:01.000Z', items: [stored(a)] },
            { txId: 'tx9', at: '2030-01-01T00:00:02.000Z', items: [stored(b)] },
            { txId: 'tx10', at: '2030-01-01T00:00:03.000Z', items: [stored(b)] },
          ],
        ],
      ]);
      const { figures, aggregates } = verifyForecasts(
        log.items,
        batches,
        new Map([[SLOT, [aggregate(2, 2, 4)]]]),
      );
      expect(figures).to.include({ committed: 2, lost: 1, duplicated: 1 });
      expect(figures.problems[0]).to.match(/#2 was acknowledged in batch tx1 but is not in it/);
      // The replay never counts twice: two homes in effect, the sums match.
      expect(aggregates[0]?.matches).to.equal(true);
    });

    it('flags an aggregate whose sums are not those of the forecasts in effect, and foreign or altered items', () => {
      const log = new ItemLog();
      const a = forecast(log, 'home-a', 1, 2);
      const b = forecast(log, 'home-b', 0.5, 1);
      log.acknowledged(a, 'tx1', false);
      log.acknowledged(b, 'tx1', false);
      const foreign: [string, string] = ['f'.repeat(32), '0'.repeat(32)];
      const batches = new Map<string, BatchNonces[]>([
        [
          GROUP,
          [
            {
              txId: 'tx1',
              at: '2030-01-01T00:00:01.000Z',
              items: [stored(a), stored(b, { lower: 0.4, upper: 1 }), foreign],
            },
          ],
        ],
      ]);
      const { figures, aggregates } = verifyForecasts(
        log.items,
        batches,
        new Map([[SLOT, [aggregate(2, 1.4, 3)]]]),
      );
      // b is stored with other values: not where its receipt says with its own values.
      expect(figures).to.include({ committed: 2, lost: 1 });
      expect(figures.problems.join('\n'))
        .to.match(/not sent by the soak's homes/)
        .and.match(/other values/);
      expect(aggregates[0]?.matches).to.equal(false);
    });

    it('checks only the home count of a withheld aggregate and skips an unpublished one', () => {
      const log = new ItemLog();
      const a = forecast(log, 'home-a', 1, 2);
      const b = forecast(log, 'home-b', 1, 2, 'bus-2');
      log.acknowledged(a, 'tx1', false);
      log.acknowledged(b, 'tx1', false);
      const batches = new Map([[GROUP, [{ txId: 'tx1', at: 'x', items: [stored(a), stored(b)] }]]]);
      const { aggregates } = verifyForecasts(
        log.items,
        batches,
        new Map([
          [
            SLOT,
            [
              { org: ORG, bus: 'bus-1', published: true, homes: 1, withheld: true },
              { org: ORG, bus: 'bus-2', published: false },
              { org: 'UtilityBMSP', bus: 'bus-1', published: true, homes: 7 },
            ],
          ],
        ]),
      );
      expect(aggregates.map((check) => [check.bus, check.published, check.matches])).to.deep.equal([
        ['bus-1', true, true],
        ['bus-2', false, true],
      ]);
    });
  });

  describe('consumption reports', () => {
    it('finds each acknowledged report under its home reference, once', () => {
      const log = new ItemLog();
      const items = ['h1', 'h2', 'h3'].map((homeId) =>
        log.add({ kind: 'consumption', mspId: ORG, bus: 'bus-1', homeId, key: SLOT }),
      );
      items.forEach((item, index) => log.acknowledged(item, `tx${index}`, false));
      const refs = new Map([[GROUP, ['r1', 'r3', 'r3']]]);
      const homeRefs = new Map([
        [
          GROUP,
          new Map<string, string | null>([
            ['h1', 'r1'],
            ['h2', 'r2'],
            ['h3', 'r3'],
          ]),
        ],
      ]);
      const figures = verifyConsumption(log.items, refs, homeRefs);
      expect(figures).to.include({ sent: 3, acknowledged: 3, committed: 2, lost: 1, duplicated: 1 });
    });
  });

  describe('orders', () => {
    it('checks the stored count against the homes acknowledged and the homes that sent one', () => {
      const log = new ItemLog();
      const add = (homeId: string, key: string): SentItem =>
        log.add({ kind: 'order', mspId: ORG, bus: 'bus-1', homeId, key, side: 'bid' });
      log.acknowledged(add('h1', 'w1'), 't1', false);
      log.acknowledged(add('h2', 'w1'), 't2', false);
      add('h3', 'w1').outcome = 'refused';
      log.acknowledged(add('h1', 'w2'), 't3', false);
      const counts = new Map([
        [`${ORG} w1`, 2],
        [`${ORG} w2`, 0],
      ]);
      expect(verifyOrders(log.items, counts)).to.include({
        sent: 4,
        acknowledged: 3,
        refused: 1,
        committed: 2,
        lost: 1,
        duplicated: 0,
      });
      expect(verifyOrders(log.items, new Map([[`${ORG} w1`, 4]]))).to.include({ duplicated: 1 });
    });
  });

  describe('tokens', () => {
    const clean: Reconciliation = {
      reconciled: true,
      utilities: [{ org: ORG, difference: '0' }],
      grid: [{ org: 'DSOMSP', difference: '0' }],
    };

    it('holds when the ledger reconciles and the soak accounts hold what they held', () => {
      expect(verifyTokens(clean, clean, 5n, 5n)).to.include({
        conserved: true,
        heldBefore: '5',
        heldAfter: '5',
      });
    });

    it('fails on a difference the soak made, or tokens gone from its accounts', () => {
      const off = { ...clean, reconciled: false, utilities: [{ org: ORG, difference: '-3' }] };
      const broken = verifyTokens(clean, off, 5n, 5n);
      expect(broken.conserved).to.equal(false);
      expect(broken.problems[0]).to.match(/UtilityAMSP differs by -3/);
      expect(verifyTokens(clean, clean, 5n, 4n).conserved).to.equal(false);
    });

    it('does not blame the soak for a difference that was there before and did not change', () => {
      const old = { ...clean, reconciled: false, utilities: [{ org: ORG, difference: '7' }] };
      expect(verifyTokens(old, old, 5n, 5n).conserved).to.equal(true);
    });
  });
});
