/**
 * The terminal's live view of the day: a header, then one row per finished slot with what the
 * DSO saw per bus (Σ range against capacity), the ledger's metered Σ drawn next to the homes' own, λ, the worst overload and the slot's timings, and
 * between them one line per settled trading window with its public clearing and settlement.
 */
import type { DayResult, SlotResult, WindowResult } from './day-result';
import type { DrResult } from './dr-result';
import { maxOverload } from './dispatch-summary';
import { formatValue, kwhFromWh } from './market-model';

const WIDTHS = {
  slot: 4,
  time: 5,
  price: 13,
  homes: 5,
  bus: 19,
  metered: 15,
  lambda: 6,
  overload: 8,
  close: 8,
  submit: 9,
  total: 6,
};

function cell(text: string, width: number): string {
  return text.length >= width ? text : text.padStart(width);
}

/** `lower–upper/capacity`, or the home count when the sums were withheld (fewer than k homes). */
export function busCell(bus: SlotResult['buses'][number]): string {
  if (bus.lowerKw === null || bus.upperKw === null) {
    return `${bus.homes > 0 ? `withheld ${bus.homes}` : 'none'}/${bus.capacityKw}`;
  }
  return `${bus.lowerKw.toFixed(1)}–${bus.upperKw.toFixed(1)}/${bus.capacityKw}`;
}

/**
 * The ledger's metered Σ drawn over the day's buses next to the homes' own Σ drawn, kW; `–` before
 * metering. The day fails before showing a row whose buses disagree (metering.ts).
 */
export function meteredCell(slot: SlotResult): string {
  if (slot.buses.some((bus) => bus.metered === undefined)) {
    return '–';
  }
  const metered = slot.buses.reduce((sum, bus) => sum + (bus.metered?.drawnKw ?? 0), 0);
  const drawn = slot.buses.reduce((sum, bus) => sum + bus.drawnKw, 0);
  return `${metered.toFixed(1)}/${drawn.toFixed(1)}`;
}

export function tableHeader(buses: readonly string[]): string {
  const columns = [
    cell('slot', WIDTHS.slot),
    cell('time', WIDTHS.time),
    cell('price €/MWh', WIDTHS.price),
    cell('homes', WIDTHS.homes),
    ...buses.map((bus) => cell(`${bus} Σ kW/cap`, WIDTHS.bus)),
    cell('metered/drawn kW', WIDTHS.metered),
    cell('λ', WIDTHS.lambda),
    cell('over kW', WIDTHS.overload),
    cell('closed', WIDTHS.close),
    cell('submit ms', WIDTHS.submit),
    cell('slot s', WIDTHS.total),
  ];
  return columns.join(' ');
}

export function tableRow(slot: SlotResult): string {
  const overload = maxOverload(slot.buses);
  return [
    cell(String(slot.index), WIDTHS.slot),
    cell(slot.startsAt, WIDTHS.time),
    cell(`${slot.defaultPrices.lower.toFixed(0)}–${slot.defaultPrices.upper.toFixed(0)}`, WIDTHS.price),
    cell(`${slot.homesSubmitted}`, WIDTHS.homes),
    ...slot.buses.map((bus) => cell(busCell(bus), WIDTHS.bus)),
    cell(meteredCell(slot), WIDTHS.metered),
    cell(slot.lambda.toFixed(3), WIDTHS.lambda),
    cell(overload.toFixed(2), WIDTHS.overload),
    cell(slot.closedBy === 'all-submitted' ? 'early' : 'deadline', WIDTHS.close),
    cell(`${slot.timing.submitP50Ms}/${slot.timing.submitMaxMs}`, WIDTHS.submit),
    cell((slot.timing.totalMs / 1000).toFixed(1), WIDTHS.total),
    ...slotMarks(slot),
  ].join(' ');
}

/** Marks of a slot in the demand-response event (DR) or under an emergency (E and its level). */
function slotMarks(slot: SlotResult): string[] {
  return [
    ...(slot.drEvent === true ? ['DR'] : []),
    ...(slot.emergency === undefined ? [] : [`E${slot.emergency.level}`]),
  ];
}

/**
 * One settled window: delivery time, pay-as-clear price, trades, traded and delivered kWh (the
 * utilities' public totals), the grid share and the audit.
 */
export function windowRow(window: WindowResult): string {
  const price = window.clearingPrice === null ? 'no trade' : `${window.clearingPrice} €/MWh`;
  return [
    `  window → ${window.deliveryStartsAt}:`,
    `orders ${window.ordersRevealed},`,
    `price ${price},`,
    `trades ${window.trades},`,
    `traded ${kwhFromWh(window.tradedWh).toFixed(3)} kWh,`,
    `delivered ${kwhFromWh(window.deliveredWh).toFixed(3)} kWh,`,
    `grid share ${formatValue(window.gridShare)} €,`,
    `audit ${window.auditMatches ? 'ok' : 'MISMATCH'},`,
    `${(window.timing.totalMs / 1000).toFixed(1)} s`,
  ].join(' ');
}

/** The closing lines: totals and timings. */
export function tableSummary(day: DayResult): string {
  const totals = day.slots.map((slot) => slot.timing.totalMs).sort((a, b) => a - b);
  const median = totals[Math.floor(totals.length / 2)] ?? 0;
  const early = day.slots.filter((slot) => slot.closedBy === 'all-submitted').length;
  const violations = day.slots.reduce((sum, slot) => sum + slot.allowanceViolations, 0);
  const missed = day.slots.reduce((sum, slot) => sum + slot.homesMissed, 0);
  return [
    `${day.slots.length} slots in ${day.wallSeconds} s (${(day.wallSeconds / Math.max(1, day.slots.length)).toFixed(1)} s per slot, pipelined); ` +
      `slot from open to last allowance: median ${(median / 1000).toFixed(1)} s, max ${((totals.at(-1) ?? 0) / 1000).toFixed(1)} s`,
    `${early} of ${day.slots.length} slots closed early (every enrolled home submitted); ${missed} forecasts refused or late; ` +
      `${violations} homes drew more than allowed`,
    ...(day.settings.openadrShare === 0 ? [] : [openadrSummary(day)]),
    ...(day.windows.length === 0 ? [] : [windowSummary(day.windows)]),
    ...meterSummary(day),
    ...(day.demandResponse === undefined ? [] : [drSummary(day.demandResponse)]),
  ].join('\n');
}

/** The played dates, the meter history posts and the production tokens. */
function meterSummary(day: DayResult): string[] {
  const lines: string[] = [];
  const dates = day.calendar ?? [];
  if (dates.length > 1) {
    lines.push(`${dates.length} days played: ${dates.map((entry) => entry.date).join(', ')}`);
  }
  const meterDays = day.meterDays;
  if (meterDays !== undefined) {
    const { backfill, daily } = meterDays;
    lines.push(
      `metered days posted: ${backfill.accepted} of ${backfill.items} history days (backfill), ${daily.accepted} of ${daily.items} played days` +
        (backfill.refused + daily.refused > 0
          ? `; first refusal: ${backfill.firstRefusal ?? daily.firstRefusal ?? ''}`
          : ''),
    );
  }
  const production = day.production?.utilities ?? [];
  if (production.length > 0) {
    const exportCount = production.reduce((sum, entry) => sum + entry.exports, 0);
    const exportWh = production.reduce((sum, entry) => sum + entry.exportWh, 0);
    const minted = production.reduce((sum, entry) => sum + BigInt(entry.minted), 0n);
    lines.push(
      `production tokens: ${exportCount} prosumer exports, ${kwhFromWh(exportWh).toFixed(3)} kWh, ${formatValue(minted.toString())} € minted`,
    );
  }
  const mismatched = day.slots.reduce(
    (sum, slot) => sum + slot.buses.reduce((busSum, bus) => busSum + (bus.metered?.mismatched ?? 0), 0),
    0,
  );
  const metered = day.slots.reduce(
    (sum, slot) => sum + slot.buses.reduce((busSum, bus) => busSum + (bus.metered?.metered ?? 0), 0),
    0,
  );
  if (metered > 0) {
    lines.push(
      `meter readings: ${metered} home-slots metered by the head-ends, ${mismatched} device reports mismatching`,
    );
  }
  return lines;
}

/** The event: PAR with and without DR, reduction, rewards, emergency shedding, audit. */
function drSummary(dr: DrResult): string {
  const reduction = dr.buses.reduce((sum, bus) => sum + bus.simulation.reductionWh, 0);
  const paid = dr.utilities.reduce((sum, entry) => sum + BigInt(entry.paidUnits), 0n);
  const homes = dr.utilities.reduce((sum, entry) => sum + entry.paidHomes, 0);
  const shed = dr.emergency?.buses.reduce((sum, bus) => sum + bus.shedKw, 0);
  return [
    `demand response ${dr.eventId} (${dr.date} ${dr.startsAt}–${dr.endsAt}):`,
    `feeder PAR ${dr.feeder.par.withDr} with DR, ${dr.feeder.par.withoutDr} without;`,
    `${kwhFromWh(reduction).toFixed(3)} kWh less than without DR;`,
    `${homes} homes' rewards computed, ${formatValue(paid.toString())} € paid;`,
    ...(shed === undefined ? [] : [`emergency level ${dr.emergency?.level} shed ${shed.toFixed(3)} kW;`]),
    `audit ${dr.audit === null ? 'unread' : dr.audit.consistent ? 'consistent' : 'INCONSISTENT'}`,
  ].join(' ');
}

/** The OpenADR homes' forecasts, and the relay-attested ones the published sums counted. */
function openadrSummary(day: DayResult): string {
  const viaVtn = day.slots.reduce((sum, slot) => sum + slot.openadrSubmitted, 0);
  const attested = day.slots.reduce(
    (sum, slot) => sum + slot.buses.reduce((busSum, bus) => busSum + bus.relayAttested, 0),
    0,
  );
  const all = day.slots.reduce((sum, slot) => sum + slot.homesSubmitted, 0);
  return `OpenADR 3 VENs: ${viaVtn} of ${all} accepted forecasts came as VEN reports; the published sums counted ${attested} relay-attested`;
}

function windowSummary(windows: readonly WindowResult[]): string {
  const totals = windows.map((window) => window.timing.totalMs).sort((a, b) => a - b);
  const traded = windows.reduce((sum, window) => sum + window.tradedWh, 0);
  const delivered = windows.reduce((sum, window) => sum + window.deliveredWh, 0);
  const audited = windows.filter((window) => window.auditMatches).length;
  return (
    `${windows.length} trading windows settled: ${windows.reduce((sum, window) => sum + window.trades, 0)} trades, ` +
    `${kwhFromWh(traded).toFixed(3)} kWh traded, ${kwhFromWh(delivered).toFixed(3)} kWh delivered; ` +
    `${audited} of ${windows.length} audits match; window from opening to grid share: median ` +
    `${((totals[Math.floor(totals.length / 2)] ?? 0) / 1000).toFixed(1)} s, max ${((totals.at(-1) ?? 0) / 1000).toFixed(1)} s`
  );
}
