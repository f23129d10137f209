/**
 * The day's report: one self-contained HTML file (inline CSS and SVG, no script, nothing fetched)
 * rendered from a DayResult alone. It shows what the DSO saw — per-bus sums, home counts, buses
 * withheld below k, λ — and the energy auction's public record per window (clearing, delivery
 * totals, settlement, audit), and counts what stayed private; since a DayResult holds no per-home
 * data, no home id, account id or individual value can reach the report.
 */
import type { BusSlotResult, DayResult } from './day-result';
import type { BusMetering } from './metering';
import { timeOfDay } from './appliance-model';
import { escapeXml, renderChart } from './svg-chart';
import { auctionPrivacy, auctionSection } from './report-auction';
import { drSection, meterSection } from './report-dr';
import { COLORS, table } from './report-html';

function busSeries(day: DayResult, bus: string): (BusSlotResult | undefined)[] {
  return day.slots.map((slot) => slot.buses.find((entry) => entry.bus === bus));
}

/** The x-axis label of each slot: its time, with its day's number when the run played several. */
export function slotLabels(day: DayResult): string[] {
  const dates = day.calendar ?? [];
  return day.slots.map((slot) => {
    const number = dates.findIndex((entry) => entry.date === slot.date);
    return dates.length > 1 && number >= 0 ? `d${number + 1} ${slot.startsAt}` : slot.startsAt;
  });
}

function busCharts(day: DayResult): string {
  const xLabels = slotLabels(day);
  return day.feeder
    .map((feederBus) => {
      const series = busSeries(day, feederBus.bus);
      return renderChart({
        title: `${feederBus.bus}: published Σ range vs capacity vs dispatched load (${feederBus.homes} homes)`,
        yLabel: 'kW',
        xLabels,
        series: [
          {
            name: 'ΣLmin–ΣLmax (published)',
            color: COLORS.range,
            kind: 'band',
            values: series.map((entry) => entry?.lowerKw ?? null),
            upper: series.map((entry) => entry?.upperKw ?? null),
          },
          {
            name: 'capacity',
            color: COLORS.capacity,
            kind: 'dashed',
            values: series.map(() => feederBus.capacityKw),
          },
          {
            name: 'dispatched λ·ΣLmax+(1−λ)·ΣLmin',
            color: COLORS.dispatched,
            kind: 'line',
            values: series.map((entry) => entry?.dispatchedKw ?? null),
          },
          {
            name: 'drawn (simulated meters)',
            color: COLORS.drawn,
            kind: 'line',
            values: series.map((entry) => entry?.drawnKw ?? null),
          },
        ],
      });
    })
    .join('\n');
}

/** The homes run by OpenADR VENs, and what the ledger counted of their relay-attested forecasts. */
function openadrParagraph(day: DayResult): string {
  if (day.settings.openadrShare === 0) {
    return '';
  }
  const viaVtn = day.slots.reduce((sum, slot) => sum + slot.openadrSubmitted, 0);
  const all = day.slots.reduce((sum, slot) => sum + slot.homesSubmitted, 0);
  const attested = day.slots.reduce(
    (sum, slot) => sum + slot.buses.reduce((busSum, bus) => busSum + bus.relayAttested, 0),
    0,
  );
  return `<p>OpenADR 3: a share of ${day.settings.openadrShare} of the homes ran a VEN against their utility's VTN (docs/openadr.md).
${viaVtn} of the ${all} accepted forecasts came as VEN reports (USAGE_FORECAST); the published per-bus sums counted ${attested} relay-attested forecasts
(k-anonymous sums only).</p>`;
}

function privacySection(day: DayResult): string {
  const pairs = day.slots.flatMap((slot) => slot.buses.map((bus) => ({ slot, bus })));
  const published = pairs.filter(({ bus }) => bus.lowerKw !== null).length;
  const withheld = pairs.filter(({ bus }) => bus.withheldHomes > 0);
  const forecasts = day.slots.reduce((sum, slot) => sum + slot.homesSubmitted, 0);
  const withheldList =
    withheld.length === 0
      ? 'none'
      : withheld
          .map(({ slot, bus }) => `${slot.startsAt} ${bus.bus} (${bus.withheldHomes} homes)`)
          .join(', ');
  return `<h2>Privacy: what the DSO saw, and what stayed private</h2>
${table(
  ['the DSO (and every channel member) saw', 'count'],
  [
    ['per-bus sums ΣLmin, ΣLmax (slot × bus)', published],
    ['per-bus home counts (slot × bus)', pairs.length],
    [
      `bus aggregates withheld: fewer than k = ${day.settings.minGroupSize} homes of a utility (count only)`,
      withheld.length,
    ],
    ['dispatch factors λ (one per slot)', day.slots.length],
  ],
)}
<p class="note">Withheld: ${escapeXml(withheldList)}</p>
${table(
  ['stayed private', 'count', 'where it lived'],
  [
    [
      'individual forecast ranges [Lmin, Lmax]',
      forecasts,
      "transient data to the home's own utility peer; its private collection (hashes on the ledger)",
    ],
    ['home ids and device certificates', day.settings.homes, "the device and its own utility's peer"],
    ['allowed power per home', forecasts, "computed on the utility's peer, returned to that device only"],
    [
      'power drawn per home',
      forecasts,
      "signed by the device to its own utility's peer, its private collection; public only as per-bus metered sums (this report's metered column)",
    ],
  ],
)}
${day.windows.length === 0 ? '' : auctionPrivacy(day)}`;
}

/** What the energy auction made public, when, and what stayed private throughout. */
function meteredText(metered: BusMetering): string {
  const withheld = metered.withheldHomes > 0 ? ` + ${metered.withheldHomes} withheld` : '';
  const meters =
    metered.metered === undefined
      ? ''
      : `, ${metered.metered} metered, ${metered.mismatched ?? 0} mismatched`;
  return `${metered.drawnKw} (${metered.homes}${withheld}, ${metered.nonCompliant} over${meters})`;
}

function slotTable(day: DayResult): string {
  const rows = day.slots.flatMap((slot) =>
    slot.buses.map((bus) => [
      slot.index,
      slot.startsAt,
      slot.slotId,
      bus.bus,
      `${bus.prices.lower}–${bus.prices.upper}`,
      bus.homes,
      bus.withheldHomes,
      bus.lowerKw ?? 'withheld',
      bus.upperKw ?? 'withheld',
      bus.capacityKw,
      bus.busLambda ?? '–',
      slot.lambda,
      bus.dispatchedKw ?? '–',
      bus.drawnKw,
      bus.metered === undefined ? '–' : meteredText(bus.metered),
      bus.overloadKw,
    ]),
  );
  return table(
    [
      'slot',
      'time',
      'slot id',
      'bus',
      'price €/MWh',
      'homes',
      'withheld homes',
      'ΣLmin kW',
      'ΣLmax kW',
      'capacity kW',
      'λ_b',
      'λ',
      'dispatched kW',
      'drawn kW',
      'metered kW (homes, over allowance)',
      'overload kW',
    ],
    rows,
  );
}

function timingTable(day: DayResult): string {
  const phases = [...new Set(day.slots.flatMap((slot) => Object.keys(slot.timing.phasesMs)))];
  return table(
    [
      'slot',
      'time',
      'closed',
      ...phases.map((phase) => `${phase} ms`),
      'submit p50 ms',
      'submit max ms',
      'total ms',
    ],
    day.slots.map((slot) => [
      slot.index,
      slot.startsAt,
      slot.closedBy,
      ...phases.map((phase) => slot.timing.phasesMs[phase] ?? '–'),
      slot.timing.submitP50Ms,
      slot.timing.submitMaxMs,
      slot.timing.totalMs,
    ]),
  );
}

/** The played days and their simulated dates, when the run played more than one. */
function calendarParagraph(day: DayResult): string {
  const dates = day.calendar ?? [];
  if (dates.length <= 1) {
    return dates.length === 1 ? `<p>Simulated date ${escapeXml(dates[0]?.date ?? '')} (UTC).</p>` : '';
  }
  return `<p>${dates.length} days on consecutive simulated dates (UTC): ${escapeXml(
    dates.map((entry) => `d${entry.day + 1} ${entry.date} (${entry.slots} slots)`).join(', '),
  )}; each home's appliances kept their state from day to day.</p>`;
}

export function renderReport(day: DayResult): string {
  const xLabels = slotLabels(day);
  const violations = day.slots.reduce((sum, slot) => sum + slot.allowanceViolations, 0);
  const early = day.slots.filter((slot) => slot.closedBy === 'all-submitted').length;
  const otherBuses = [...new Set(day.slots.flatMap((slot) => slot.otherBuses))];
  const totals = day.slots.map((slot) => slot.timing.totalMs).sort((a, b) => a - b);
  const speed = day.settings.speed === null ? 'as fast as possible' : `${day.settings.speed}× real time`;
  const css = `body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1100px}
table{border-collapse:collapse;font-size:12px;margin:8px 0 16px}th,td{border:1px solid #ccc;padding:2px 6px;text-align:right}
th{background:#f3f3f3}td:nth-child(3),td:nth-child(4){text-align:left}.note{font-size:12px;color:#555}svg{display:block;margin:8px 0}`;
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>HEMS simulated day ${escapeXml(day.startedAt)}</title>
<style>${css}</style></head><body>
<h1>Simulated day on the HEMS Fabric network</h1>
<p>${day.settings.homes} homes on ${day.settings.buses} feeder buses, ${day.settings.slots} slots of 15 minutes from ${timeOfDay(day.settings.startSlot)} at ${escapeXml(speed)},
seed ${day.settings.seed}, k = ${day.settings.minGroupSize}. Started ${escapeXml(day.startedAt)}, finished ${escapeXml(day.finishedAt)}.</p>
<p>Wall time ${day.wallSeconds} s for the slots (${(day.wallSeconds / Math.max(1, day.slots.length)).toFixed(1)} s per slot, pipelined),
enrolment ${day.enrolmentSeconds} s, token accounts ${day.accountsSeconds} s; slot from open to last allowance: median ${((totals[Math.floor(totals.length / 2)] ?? 0) / 1000).toFixed(1)} s,
max ${((totals.at(-1) ?? 0) / 1000).toFixed(1)} s. ${early} of ${day.slots.length} slots closed early (every enrolled home submitted).
Homes that drew more than their allowed power: ${violations}.</p>
${calendarParagraph(day)}
${openadrParagraph(day)}
${otherBuses.length > 0 ? `<p class="note">Other buses enrolled on this network (not part of the day) were in every slot: ${escapeXml(otherBuses.join(', '))}; slots waited for their deadline because of them.</p>` : ''}
${table(
  ['bus', 'homes', 'capacity kW'],
  day.feeder.map((bus) => [bus.bus, bus.homes, bus.capacityKw]),
)}
<h2>Feeder buses</h2>
${busCharts(day)}
<h2>Dispatch factor λ</h2>
${renderChart({
  title: 'λ per slot (minimum of the buses’ λ_b)',
  yLabel: 'λ',
  xLabels,
  yMax: 1,
  series: [{ name: 'λ', color: COLORS.lambda, kind: 'line', values: day.slots.map((slot) => slot.lambda) }],
})}
<h2>Participation</h2>
${renderChart({
  title: 'homes whose forecast was accepted, per slot',
  yLabel: 'homes',
  xLabels,
  yMax: Math.max(1, day.settings.homes),
  series: [
    {
      name: 'homes',
      color: COLORS.range,
      kind: 'bars',
      values: day.slots.map((slot) => slot.homesSubmitted),
    },
  ],
})}
${auctionSection(day)}
${drSection(day)}
${meterSection(day)}
${privacySection(day)}
<h2>Per slot and bus</h2>
${slotTable(day)}
<h2>Timing</h2>
${renderChart({
  title: 'wall-clock time per slot, open to last allowance',
  yLabel: 's',
  xLabels,
  series: [
    {
      name: 'seconds',
      color: COLORS.capacity,
      kind: 'bars',
      values: day.slots.map((slot) => slot.timing.totalMs / 1000),
    },
  ],
})}
${timingTable(day)}
</body></html>
`;
}
