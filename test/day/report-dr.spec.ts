import { expect } from 'chai';
import type { BusSlotResult, DayResult, SlotResult } from '../../scripts/day/day-result';
import type { DrResult } from '../../scripts/day/dr-result';
import { tableRow, tableSummary } from '../../scripts/day/live-table';
import { renderReport, slotLabels } from '../../scripts/day/report';
import { ledgerBusSums } from '../../scripts/day/report-dr';

const BUSES = ['feeder-1', 'feeder-2'];

function bus(name: string, metered: number, mismatched: number): BusSlotResult {
  return {
    bus: name,
    capacityKw: 30,
    prices: { lower: 80, upper: 170 },
    homes: 10,
    withheldHomes: 0,
    lowerKw: 8,
    upperKw: 20,
    busLambda: 1,
    dispatchedKw: 20,
    drawnKw: 18.5,
    relayAttested: 0,
    overloadKw: 0,
    metered: { homes: 10, withheldHomes: 0, drawnKw: 18.5, nonCompliant: 0, metered, mismatched },
  };
}

function slot(date: string, index: number, extra: Partial<SlotResult> = {}): SlotResult {
  return {
    index,
    slotId: `day-t-${date.replace(/-/g, '')}-${index}`,
    date,
    period: 'peak',
    drEvent: date === '2026-12-08',
    startsAt: `${Math.floor(index / 4)}:${String((index % 4) * 15).padStart(2, '0')}`,
    defaultPrices: { lower: 80, upper: 170 },
    homesSubmitted: 20,
    openadrSubmitted: 0,
    homesMissed: 0,
    closedBy: 'all-submitted',
    otherBuses: [],
    lambda: 1,
    buses: BUSES.map((name) => bus(name, 10, name === 'feeder-2' && index === 76 ? 1 : 0)),
    allowanceViolations: 0,
    production: [
      { org: 'UtilityAMSP', exports: 0, exportWh: 0, minted: '0' },
      { org: 'UtilityBMSP', exports: 0, exportWh: 0, minted: '0' },
    ],
    timing: { phasesMs: { open: 500 }, submitP50Ms: 800, submitMaxMs: 900, totalMs: 4000 },
    ...extra,
  };
}

const EMERGENCY = {
  level: 2,
  buses: [
    {
      bus: 'feeder-1',
      homesShedding: 7,
      shedKw: 6.25,
      curtailedKw: 5.5,
      deferredKw: 0.75,
      essentialKw: 12.125,
    },
    {
      bus: 'feeder-2',
      homesShedding: 4,
      shedKw: 3.125,
      curtailedKw: 3.125,
      deferredKw: 0,
      essentialKw: 11.5,
    },
  ],
};

const DR: DrResult = {
  eventId: 'dr-t-20261208',
  date: '2026-12-08',
  startsAt: '17:00',
  endsAt: '21:00',
  slots: 16,
  method: 'residential-5-in-10',
  rate: 0.5,
  budget: '200',
  declared: true,
  buses: [
    {
      bus: 'feeder-1',
      homes: 10,
      ledger: [
        {
          org: 'UtilityAMSP',
          homes: 5,
          withheld: false,
          baselineWh: 61_234,
          meteredWh: 40_111,
          reductionWh: 21_987,
          reward: '109935000000',
        },
        {
          org: 'UtilityBMSP',
          homes: 5,
          withheld: false,
          baselineWh: 50_000,
          meteredWh: 45_000,
          reductionWh: 6_000,
          reward: '30000000000',
        },
      ],
      simulation: { meteredWh: 85_111, withoutDrWh: 117_345, reductionWh: 32_234 },
      par: { withDr: 2.417, withoutDr: 2.205 },
    },
    {
      bus: 'feeder-2',
      homes: 10,
      ledger: [
        { org: 'UtilityAMSP', homes: 4, withheld: true },
        {
          org: 'UtilityBMSP',
          homes: 6,
          withheld: false,
          baselineWh: 70_000,
          meteredWh: 52_500,
          reductionWh: 17_500,
          reward: '87500000000',
        },
      ],
      simulation: { meteredWh: 90_000, withoutDrWh: 110_000, reductionWh: 20_000 },
      par: { withDr: 2.611, withoutDr: 2.5 },
    },
  ],
  utilities: [
    {
      org: 'UtilityAMSP',
      allotted: '100',
      paid: '10.9935',
      homes: 9,
      rewarded: 7,
      totalsPublished: true,
      paidHomes: 9,
      refusedHomes: 1,
      paidUnits: '109935000000',
      firstRefusal: 'FAILED_PRECONDITION: homeIds[3]: no history',
    },
    {
      org: 'UtilityBMSP',
      allotted: '100',
      paid: '11.75',
      homes: 11,
      totalsPublished: true,
      paidHomes: 11,
      refusedHomes: 0,
      paidUnits: '117500000000',
    },
  ],
  audit: { consistent: true, problems: [] },
  feeder: {
    withDrKw: Array.from({ length: 96 }, (_, index) => (index >= 68 && index < 84 ? 30 : 50)),
    withoutDrKw: Array.from({ length: 96 }, () => 50),
    par: { withDr: 2.456, withoutDr: 2.301 },
    start: 68,
    end: 84,
  },
  shiftable: {
    withDr: { demandedWh: 500_000, servedWh: 480_000, pendingWh: 20_000, unservedWh: 0 },
    withoutDr: { demandedWh: 500_000, servedWh: 490_000, pendingWh: 10_000, unservedWh: 0 },
  },
  emergency: {
    slotId: 'day-t-20261208-76',
    startsAt: '19:00',
    level: 2,
    declared: true,
    buses: EMERGENCY.buses,
  },
};

const SLOTS = [
  slot('2026-12-07', 75),
  slot('2026-12-07', 76),
  slot('2026-12-08', 75),
  slot('2026-12-08', 76, {
    emergency: EMERGENCY,
    production: [{ org: 'UtilityAMSP', exports: 3, exportWh: 1_234, minted: '61700000' }],
  }),
];

const DAY: DayResult = {
  startedAt: '2026-12-09T10:00:00.000Z',
  finishedAt: '2026-12-09T10:20:00.000Z',
  settings: {
    homes: 20,
    buses: 2,
    slots: 2,
    startSlot: 75,
    auctionEvery: 0,
    speed: null,
    seed: 3,
    openadrShare: 0,
    days: 2,
    drEvent: true,
    minGroupSize: 5,
  },
  feeder: BUSES.map((name) => ({ bus: name, capacityKw: 30, homes: 10 })),
  slots: SLOTS,
  calendar: [
    { day: 0, date: '2026-12-07', slots: 2 },
    { day: 1, date: '2026-12-08', slots: 2 },
  ],
  meterDays: {
    backfill: { posts: 5, items: 900, accepted: 900, refused: 0, days: 45 },
    daily: {
      posts: 2,
      items: 40,
      accepted: 39,
      refused: 1,
      firstRefusal: 'FAILED_PRECONDITION: days[3] too old',
    },
  },
  production: {
    rate: 50,
    utilities: [
      { org: 'UtilityAMSP', slots: 1, exports: 3, exportWh: 1_234, minted: '61700000' },
      { org: 'UtilityBMSP', slots: 0, exports: 0, exportWh: 0, minted: '0' },
    ],
  },
  demandResponse: DR,
  windows: [],
  wallSeconds: 60,
  enrolmentSeconds: 0,
  accountsSeconds: 2,
};

function section(html: string, title: string): string {
  const start = html.indexOf(`<h2>${title}</h2>`);
  expect(start, title).to.be.greaterThan(-1);
  const end = html.indexOf('<h2>', start + 4);
  return html.slice(start, end === -1 ? undefined : end);
}

function rows(html: string): string[][] {
  return [...html.matchAll(/<tr>((?:<td>.*?<\/td>)+)<\/tr>/g)].map((match) =>
    [...(match[1] ?? '').matchAll(/<td>(.*?)<\/td>/g)].map((cell) => cell[1] ?? ''),
  );
}

describe('day: the report of demand response, meters and production tokens', () => {
  const html = renderReport(DAY);

  it('shows per bus the published totals against the simulation’s own sums, and the PAR with and without DR', () => {
    const dr = section(html, 'Demand response');
    expect(dr).to.include('Event dr-t-20261208 on 2026-12-08, 17:00–21:00 UTC (16 peak slots)');
    expect(dr).to.include('0.5 € per kWh reduced, budget 200 €');
    expect(dr).to.include('2.456 with DR, 2.301 without DR');
    expect(dr).to.include('consistent');
    const busRows = rows(dr.slice(dr.indexOf('<h3>Load against baseline'), dr.indexOf('<h3>Rewards')));
    expect(busRows).to.deep.equal([
      [
        'feeder-1',
        '10',
        '111.234',
        '85.111',
        '27.987',
        '13.9935',
        '0',
        '85.111',
        '117.345',
        '32.234',
        '2.417',
        '2.205',
      ],
      // UtilityA's 4 homes on feeder-2 are below k: only UtilityB's sums are published.
      [
        'feeder-2',
        '10',
        '70.000',
        '52.500',
        '17.500',
        '8.75',
        '4',
        '90.000',
        '110.000',
        '20.000',
        '2.611',
        '2.5',
      ],
    ]);
    expect(ledgerBusSums({ ...DR.buses[1]!, ledger: [{ org: 'A', homes: 3, withheld: true }] }).published).to
      .be.false;
  });

  it('shows the rewards per utility, from the event view and the receipts', () => {
    const dr = section(html, 'Demand response');
    const utilityRows = rows(dr.slice(dr.indexOf('<h3>Rewards'), dr.indexOf('<h3>Emergency')));
    expect(utilityRows).to.deep.equal([
      ['UtilityAMSP', '100', '10.9935', '9', '7', '9', '1', '10.9935', 'yes'],
      ['UtilityBMSP', '100', '11.75', '11', '–', '11', '0', '11.75', 'yes'],
    ]);
  });

  it('shows the emergency shedding per bus and the shifted energy conserved', () => {
    const dr = section(html, 'Demand response');
    expect(dr).to.include('Level 2 in slot day-t-20261208-76 at 19:00');
    const emergencyRows = rows(dr.slice(dr.indexOf('<h3>Emergency'), dr.indexOf('shiftable energy over')));
    expect(emergencyRows).to.deep.equal([
      ['feeder-1', '7', '6.25', '5.5', '0.75', '12.125'],
      ['feeder-2', '4', '3.125', '3.125', '0', '11.5'],
    ]);
    expect(dr).to.include('differs from without DR by 0.0 %');
    // The feeder load over the event day, with and without DR.
    expect(dr.match(/<svg/g)).to.have.length(1);
  });

  it('shows the meter history posts, the meter/device mismatches per bus and the production tokens', () => {
    const meters = rows(section(html, 'Meters and production tokens'));
    expect(meters).to.deep.equal([
      ['backfill (45 days per home)', '5', '900', '900', '0', '–'],
      ['played days', '2', '40', '39', '1', 'FAILED_PRECONDITION: days[3] too old'],
      ['feeder-1', '4', '40', '0'],
      ['feeder-2', '4', '40', '2'],
      ['UtilityAMSP', '1', '3', '1.234', '0.00617'],
      ['UtilityBMSP', '0', '0', '0.000', '0'],
    ]);
    // The per-slot table names the metered and mismatched homes beside the ledger's sums.
    expect(section(html, 'Per slot and bus')).to.include('18.5 (10, 0 over, 10 metered, 1 mismatched)');
  });

  it('labels the slots of several days with their day, and lists the dates', () => {
    expect(slotLabels(DAY)).to.deep.equal(['d1 18:45', 'd1 19:00', 'd2 18:45', 'd2 19:00']);
    expect(slotLabels({ ...DAY, calendar: [{ day: 0, date: '2026-12-07', slots: 2 }] })[0]).to.equal('18:45');
    expect(html).to.include(
      '2 days on consecutive simulated dates (UTC): d1 2026-12-07 (2 slots), d2 2026-12-08 (2 slots)',
    );
  });

  it('prints the event, the meters and the production in the summary, and marks the event slots', () => {
    const summary = tableSummary(DAY);
    expect(summary).to.include('2 days played: 2026-12-07, 2026-12-08');
    expect(summary).to.include(
      'metered days posted: 900 of 900 history days (backfill), 39 of 40 played days',
    );
    expect(summary).to.include('production tokens: 3 prosumer exports, 1.234 kWh, 0.00617 € minted');
    expect(summary).to.include(
      'meter readings: 80 home-slots metered by the head-ends, 2 device reports mismatching',
    );
    expect(summary).to.include(
      "demand response dr-t-20261208 (2026-12-08 17:00–21:00): feeder PAR 2.456 with DR, 2.301 without; 52.234 kWh less than without DR; 20 homes' rewards computed, 22.7435 € paid; emergency level 2 shed 9.375 kW; audit consistent",
    );
    expect(tableRow(SLOTS[3]!)).to.match(/ DR E2$/);
    expect(tableRow(SLOTS[0]!)).to.not.match(/DR/);
  });

  it("keeps each home's draws in the result and never prints them per home", () => {
    // Distinctive per-home values: no bus sum or other number of the fixture has them.
    const homes = Array.from({ length: 20 }, (_, index) => ({
      index,
      org: index % 2 === 0 ? 'UtilityAMSP' : 'UtilityBMSP',
      bus: BUSES[Math.floor(index / 2) % 2]!,
      days: [
        {
          date: '2026-12-08',
          withDrWh: Array.from({ length: 96 }, (_, slot) => 731_000 + index * 100 + slot),
          withoutDrWh: Array.from({ length: 96 }, (_, slot) => 947_000 + index * 100 + slot),
        },
      ],
    }));
    const withHomes = { ...DAY, homes };
    const page = renderReport(withHomes) + tableSummary(withHomes);
    for (const home of homes) {
      for (const wh of [...home.days[0]!.withDrWh, ...home.days[0]!.withoutDrWh]) {
        expect(page).to.not.match(new RegExp(`(?<![\\d.])${wh}(?![\\d])`));
        expect(page).to.not.include((wh / 1000).toFixed(3));
      }
    }
  });

  it('says so when the run had no event', () => {
    const quiet = renderReport({
      ...DAY,
      demandResponse: undefined,
      settings: { ...DAY.settings, drEvent: false },
    });
    expect(section(quiet, 'Demand response')).to.include(
      'No demand-response event in this run (--dr-event off)',
    );
    expect(tableSummary({ ...DAY, demandResponse: undefined })).to.not.include('demand response');
  });
});
