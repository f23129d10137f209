/**
 * The demand-response part of the day's report: the event's public record per bus against the
 * simulation's own sums (load against baseline, the counterfactual without DR), rewards per
 * utility, the feeder's peak-to-average ratio with and without DR, the emergency's shedding; and
 * the meter data part: history posts, meter/device mismatches per bus, production tokens. Only
 * public records and per-bus or per-utility sums: a DayResult holds nothing per home.
 */
import { timeOfDay } from './appliance-model';
import type { DayResult } from './day-result';
import type { DrBusResult, DrResult, MeterPosts, ShiftableBooks } from './dr-result';
import { shiftedEnergyGap } from './dr-metrics';
import { formatValue } from './market-model';
import { COLORS, table } from './report-html';
import { escapeXml, renderChart } from './svg-chart';

const kwh = (wh: number | undefined): string => (wh === undefined ? '–' : (wh / 1000).toFixed(3));
const percent = (share: number): string => `${(share * 100).toFixed(1)} %`;

/** The utilities' published totals of a bus, summed over those not withheld. */
export function ledgerBusSums(bus: DrBusResult): {
  published: boolean;
  baselineWh: number;
  meteredWh: number;
  reductionWh: number;
  reward: bigint;
  withheldHomes: number;
} {
  const published = bus.ledger.filter((entry) => !entry.withheld && entry.baselineWh !== undefined);
  const total = (pick: (entry: (typeof published)[number]) => number | undefined): number =>
    published.reduce((sum, entry) => sum + (pick(entry) ?? 0), 0);
  return {
    published: published.length > 0,
    baselineWh: total((entry) => entry.baselineWh),
    meteredWh: total((entry) => entry.meteredWh),
    reductionWh: total((entry) => entry.reductionWh),
    reward: published.reduce((sum, entry) => sum + BigInt(entry.reward ?? '0'), 0n),
    withheldHomes: bus.ledger.filter((entry) => entry.withheld).reduce((sum, entry) => sum + entry.homes, 0),
  };
}

function busTable(dr: DrResult): string {
  return table(
    [
      'bus',
      'homes',
      'ledger baseline kWh',
      'ledger metered kWh',
      'ledger reduction kWh',
      'ledger rewards €',
      'withheld homes (< k)',
      'simulated kWh with DR',
      'simulated kWh without DR',
      'simulated reduction kWh',
      'PAR with DR',
      'PAR without DR',
    ],
    dr.buses.map((bus) => {
      const ledger = ledgerBusSums(bus);
      const shown = (wh: number): string => (ledger.published ? kwh(wh) : 'not published');
      return [
        bus.bus,
        bus.homes,
        shown(ledger.baselineWh),
        shown(ledger.meteredWh),
        shown(ledger.reductionWh),
        ledger.published ? formatValue(ledger.reward.toString()) : '–',
        ledger.withheldHomes,
        kwh(bus.simulation.meteredWh),
        kwh(bus.simulation.withoutDrWh),
        kwh(bus.simulation.reductionWh),
        bus.par.withDr,
        bus.par.withoutDr,
      ];
    }),
  );
}

function utilityTable(dr: DrResult): string {
  return table(
    [
      'utility',
      'allotted €',
      'paid € (event view)',
      'homes computed',
      'homes rewarded (> 0)',
      'homes accepted (receipts)',
      'homes refused',
      'paid € (receipts)',
      'totals published',
    ],
    dr.utilities.map((utility) => [
      utility.org,
      utility.allotted ?? '–',
      utility.paid ?? '–',
      utility.homes ?? '–',
      utility.rewarded ?? '–',
      utility.paidHomes,
      utility.refusedHomes,
      formatValue(utility.paidUnits),
      utility.totalsPublished ? 'yes' : 'no',
    ]),
  );
}

function emergencyPart(dr: DrResult): string {
  const emergency = dr.emergency;
  if (emergency === null) {
    return '<p>No emergency in this run (the day did not play 19:00).</p>';
  }
  return `<h3>Emergency</h3>
<p>Level ${emergency.level} in slot ${escapeXml(emergency.slotId)} at ${escapeXml(emergency.startsAt)}
(${emergency.declared ? 'declared by the DSO before its dispatch' : 'not declared on the ledger'}): every home's allowance
shrank towards its own Lmin, and the homes shed by priority class — comfort (curtailable) load first, then shiftable
load no deadline needed, never essential load.</p>
${table(
  [
    'bus',
    'homes shedding',
    'shed kW',
    'curtailable kW dropped',
    'shiftable kW deferred',
    'essential kW kept',
  ],
  emergency.buses.map((bus) => [
    bus.bus,
    bus.homesShedding,
    bus.shedKw,
    bus.curtailedKw,
    bus.deferredKw,
    bus.essentialKw,
  ]),
)}`;
}

function shiftablePart(books: { withDr: ShiftableBooks; withoutDr: ShiftableBooks }): string {
  const row = (name: string, entry: ShiftableBooks): (string | number)[] => [
    name,
    kwh(entry.demandedWh),
    kwh(entry.servedWh),
    kwh(entry.pendingWh),
    kwh(entry.unservedWh),
  ];
  const gap = shiftedEnergyGap(books);
  return `${table(
    [
      'shiftable energy over the played days',
      'demanded kWh',
      'served kWh',
      'pending kWh',
      'missed deadline kWh',
    ],
    [row('with DR', books.withDr), row('without DR', books.withoutDr)],
  )}
<p class="note">Shifted, not lost: served (or pending within its deadline) with DR differs from without DR by ${percent(gap)}.</p>`;
}

export function drSection(day: DayResult): string {
  const dr = day.demandResponse;
  if (dr === undefined) {
    return `<h2>Demand response</h2>\n<p>No demand-response event in this run (--dr-event ${day.settings.drEvent ? 'on, but the day played no peak slot' : 'off'}).</p>`;
  }
  const xLabels = dr.feeder.withDrKw.map((_, slot) => timeOfDay(slot));
  const audit =
    dr.audit === null
      ? 'the auditor could not read the audit'
      : dr.audit.consistent
        ? 'the auditor’s recomputation of the public accounts is consistent'
        : `the auditor found problems: ${dr.audit.problems.join('; ')}`;
  return `<h2>Demand response</h2>
<p>Event ${escapeXml(dr.eventId)} on ${escapeXml(dr.date)}, ${escapeXml(dr.startsAt)}–${escapeXml(dr.endsAt)} UTC (${dr.slots} peak slots),
baseline ${escapeXml(dr.method)}, ${dr.rate} € per kWh reduced, budget ${escapeXml(dr.budget)} € from the DSO's pool; ${escapeXml(audit)}.
Feeder peak-to-average ratio over the event day: ${dr.feeder.par.withDr} with DR, ${dr.feeder.par.withoutDr} without DR.</p>
${renderChart({
  title: `feeder load on ${dr.date} with and without DR (event ${dr.startsAt}–${dr.endsAt})`,
  yLabel: 'kW',
  xLabels,
  series: [
    { name: 'with DR (metered)', color: COLORS.drawn, kind: 'line', values: dr.feeder.withDrKw },
    { name: 'without DR (same homes)', color: COLORS.range, kind: 'dashed', values: dr.feeder.withoutDrKw },
  ],
})}
<h3>Load against baseline during the event, per bus</h3>
${busTable(dr)}
<p class="note">Ledger columns: the utilities' published per-bus totals of the event view (baselines from each home's private
meter history, 45 days backfilled and the played days; sums only from k homes of a utility on). Simulated columns: the same homes'
metered energy over the event's intervals and what they would have drawn without the event and the emergency.</p>
<h3>Rewards per utility</h3>
${utilityTable(dr)}
${emergencyPart(dr)}
${shiftablePart(dr.shiftable)}
${table(
  ['stayed private (demand response)', 'where it lived'],
  [
    [
      'each home’s metered days (history and played days)',
      "transient data from the meter head-end to its utility's peer; that utility's private collection",
    ],
    [
      'each home’s baseline, metered event energy and reward',
      "computed on its utility's peer; the device reads its own (GET /v1/dr/events/{id}/reward)",
    ],
    ['which home was paid what', 'the utility only; the ledger lists payments to pseudonymous accounts'],
  ],
)}`;
}

function postsRow(name: string, posts: MeterPosts): (string | number)[] {
  return [name, posts.posts, posts.items, posts.accepted, posts.refused, posts.firstRefusal ?? '–'];
}

/** Meter data: history posts, meter/device mismatches per bus, production tokens per utility. */
export function meterSection(day: DayResult): string {
  const buses = day.feeder.map((feederBus) => {
    const entries = day.slots.flatMap((slot) => slot.buses.filter((bus) => bus.bus === feederBus.bus));
    const metered = entries.reduce((sum, bus) => sum + (bus.metered?.metered ?? 0), 0);
    const mismatched = entries.reduce((sum, bus) => sum + (bus.metered?.mismatched ?? 0), 0);
    return [feederBus.bus, entries.length, metered, mismatched];
  });
  const production = day.production;
  return `<h2>Meters and production tokens</h2>
${
  day.meterDays === undefined
    ? ''
    : table(
        [
          'metered days posted (POST /v1/meter/days)',
          'posts',
          'home-days',
          'accepted',
          'refused',
          'first refusal',
        ],
        [
          postsRow(`backfill (${day.meterDays.backfill.days} days per home)`, day.meterDays.backfill),
          postsRow('played days', day.meterDays.daily),
        ],
      )
}
${table(['bus', 'slots', 'homes metered by the head-end (Σ over slots)', 'device reports mismatching the meter'], buses)}
${
  production === undefined
    ? ''
    : `${table(
        ['utility', 'slots with exports', 'prosumer exports', 'exported kWh', 'tokens minted €'],
        production.utilities.map((entry) => [
          entry.org,
          entry.slots,
          entry.exports,
          kwh(entry.exportWh),
          formatValue(entry.minted),
        ]),
      )}
<p class="note">Production tokens: ${production.rate} € per MWh a prosumer exported, minted into its account once per slot.</p>`
}`;
}
