import { expect } from 'chai';
import type { SlotView } from '@hems/protocol';
import { checkMetering, meteringComplete, MeteringError, type HomeDraw } from '../../scripts/day/metering';
import { meteredCell } from '../../scripts/day/live-table';
import type { SlotResult } from '../../scripts/day/day-result';

const draw = (org: string, bus: string, drawnKw: number, overAllowance = false): HomeDraw => ({
  org,
  bus,
  drawnKw,
  overAllowance,
});

// Five homes on feeder-1: three of UtilityA (summed), two of UtilityB (withheld below k = 3).
const DRAWS = [
  draw('UtilityAMSP', 'feeder-1', 1.234),
  draw('UtilityAMSP', 'feeder-1', 2.5),
  draw('UtilityAMSP', 'feeder-1', 0.001),
  draw('UtilityBMSP', 'feeder-1', 4.2),
  draw('UtilityBMSP', 'feeder-1', 0),
];

function totals(consumption: Partial<NonNullable<SlotView['busTotals'][number]['consumption']>> = {}) {
  return [
    {
      bus: 'feeder-1',
      homes: 5,
      withheldHomes: 2,
      lower: 1,
      upper: 9,
      orgs: ['UtilityAMSP'],
      withheldOrgs: ['UtilityBMSP'],
      pendingOrgs: [],
      consumption: {
        homes: 3,
        withheldHomes: 2,
        drawnKw: 3.735,
        nonCompliant: 0,
        orgs: ['UtilityAMSP'],
        withheldOrgs: ['UtilityBMSP'],
        pendingOrgs: [],
        ...consumption,
      },
    },
  ];
}

describe('day: metered consumption against the homes’ draws', () => {
  it('accepts the ledger’s sums over the summed utilities and answers them', () => {
    expect(checkMetering('s1', 'feeder-1', totals(), DRAWS)).to.deep.equal({
      homes: 3,
      withheldHomes: 2,
      drawnKw: 3.735,
      nonCompliant: 0,
    });
    // Float noise in the local sum within 0.001 kW per home is no disagreement.
    expect(() => checkMetering('s1', 'feeder-1', totals({ drawnKw: 3.737 }), DRAWS)).to.not.throw();
  });

  it('fails loudly on a sum, home count or non-compliance count that disagrees', () => {
    const cases: [Parameters<typeof totals>[0], RegExp][] = [
      [{ drawnKw: 3.739 }, /metered Σ 3.739 kW, drawn Σ 3.735 kW/],
      [{ homes: 2 }, /4 homes metered, 5 drew/],
      [{ withheldHomes: 1 }, /4 homes metered, 5 drew/],
      [{ nonCompliant: 1 }, /1 non-compliant homes metered, 0 drew over allowance/],
    ];
    for (const [consumption, message] of cases) {
      expect(() => checkMetering('s1', 'feeder-1', totals(consumption), DRAWS))
        .to.throw(MeteringError, message)
        .with.property('message')
        .that.matches(/^slot s1 bus feeder-1: /);
    }
    const over = [...DRAWS.slice(0, 2), draw('UtilityAMSP', 'feeder-1', 0.001, true), ...DRAWS.slice(3)];
    expect(() => checkMetering('s1', 'feeder-1', totals(), over)).to.throw(MeteringError, /0 non-compliant/);
    expect(() => checkMetering('s1', 'feeder-1', [], DRAWS)).to.throw(
      MeteringError,
      /no metered consumption/,
    );
    expect(checkMetering('s1', 'feeder-2', [], DRAWS)).to.deep.equal({
      homes: 0,
      withheldHomes: 0,
      drawnKw: 0,
      nonCompliant: 0,
    });
  });

  it('waits until every home that drew is metered and no utility of theirs is pending', () => {
    expect(meteringComplete(totals(), ['feeder-1'], DRAWS)).to.equal(true);
    expect(
      meteringComplete(
        totals({ withheldHomes: 0, withheldOrgs: [], pendingOrgs: ['UtilityBMSP'] }),
        ['feeder-1'],
        DRAWS,
      ),
    ).to.equal(false);
    expect(meteringComplete(totals({ homes: 2 }), ['feeder-1'], DRAWS)).to.equal(false);
    expect(meteringComplete([], ['feeder-1'], DRAWS)).to.equal(false);
    expect(meteringComplete([], ['feeder-2'], DRAWS)).to.equal(true);
  });

  it('shows the metered Σ next to the drawn Σ in the live table, – before metering', () => {
    const bus = (drawnKw: number, metered?: number) => ({
      drawnKw,
      ...(metered === undefined
        ? {}
        : { metered: { homes: 2, withheldHomes: 0, drawnKw: metered, nonCompliant: 0 } }),
    });
    const slot = (buses: ReturnType<typeof bus>[]) => ({ buses }) as unknown as SlotResult;
    expect(meteredCell(slot([bus(3.25, 3.25), bus(1.5, 1.5)]))).to.equal('4.8/4.8');
    expect(meteredCell(slot([bus(3.25, 3.25), bus(1.5)]))).to.equal('–');
  });
});
