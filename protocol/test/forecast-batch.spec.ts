import { expect } from 'chai';
import fc from 'fast-check';
import {
  effectiveForecasts,
  forecastLeaf,
  type ForecastBatchRecord,
  merklePath,
  merkleRoot,
  rootFromPath,
} from '../src';

const forecast = (n: number) => ({ slotId: 's', bus: 'bus-1', lower: n, upper: n + 1, nonce: `nonce-${n}` });
const leaves = (count: number) => Array.from({ length: count }, (_, n) => forecastLeaf(forecast(n)));

describe('forecast batches', () => {
  describe('Merkle proofs', () => {
    it('every leaf of every size leads to the root along its path, and nowhere else', () => {
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 70 }), fc.nat(), (count, pick) => {
          const all = leaves(count);
          const index = pick % count;
          const root = merkleRoot(all);
          const path = merklePath(all, index);
          expect(rootFromPath(all[index]!, index, count, path)).to.equal(root);
          const other = forecastLeaf(forecast(count + 1));
          expect(rootFromPath(other, index, count, path)).to.not.equal(root);
          if (count > 1) {
            expect(rootFromPath(all[index]!, (index + 1) % count, count, path)).to.not.equal(root);
          }
        }),
        { numRuns: 200 },
      );
    });

    it('refuses a path of the wrong shape and a leaf posing as an inner node', () => {
      const all = leaves(5);
      const path = merklePath(all, 4);
      expect(path[0]).to.equal('');
      expect(rootFromPath(all[4]!, 4, 5, path.slice(1))).to.equal('');
      expect(rootFromPath(all[4]!, 4, 5, ['', ...path])).to.equal('');
      expect(rootFromPath(all[0]!, 0, 1, [])).to.equal(all[0]!.toString('hex'));
      // The 0x00/0x01 tags: a two-leaf root is no leaf of any forecast.
      expect(merkleRoot(all.slice(0, 2))).to.not.equal(merkleRoot([all[0]!]));
      expect(() => merkleRoot([])).to.throw(/at least one leaf/);
    });
  });

  describe('effectiveForecasts', () => {
    const batch = (txId: string, at: string, items: [string, number, string][]): ForecastBatchRecord => ({
      slotId: 's',
      txId,
      at,
      items: items.map(([ref, lower, nonce]) => ({ ref, bus: 'bus-1', lower, upper: lower + 1, nonce })),
    });

    it('takes each home’s latest item by transaction time, then transaction id', () => {
      const effective = effectiveForecasts([
        batch('b', '2026-01-01T00:00:02.000Z', [['h1', 2, 'n2']]),
        batch('a', '2026-01-01T00:00:01.000Z', [
          ['h1', 1, 'n1'],
          ['h2', 5, 'n5'],
        ]),
        batch('c', '2026-01-01T00:00:02.000Z', [['h2', 6, 'n6']]),
      ]);
      expect([...effective.entries()].map(([ref, f]) => [ref, f.item.lower, f.batch, f.index])).to.deep.equal(
        [
          ['h1', 2, 'b', 0],
          ['h2', 6, 'c', 0],
        ],
      );
    });

    it('ignores an item whose nonce the home already used: a replay never rolls a forecast back', () => {
      const effective = effectiveForecasts([
        batch('a', '2026-01-01T00:00:01.000Z', [['h1', 1, 'n1']]),
        batch('b', '2026-01-01T00:00:02.000Z', [['h1', 2, 'n2']]),
        batch('c', '2026-01-01T00:00:03.000Z', [['h1', 1, 'n1']]),
      ]);
      expect(effective.get('h1')?.item.lower).to.equal(2);
      // Another home may happen to use the same nonce: nonces are per device.
      const other = effectiveForecasts([
        batch('a', '2026-01-01T00:00:01.000Z', [
          ['h1', 1, 'n1'],
          ['h2', 3, 'n1'],
        ]),
      ]);
      expect(other.size).to.equal(2);
    });
  });
});
