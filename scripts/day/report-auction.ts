/**
 * The energy auction's part of the day's report: its public record per window (clearing, delivery
 * totals, settlement, audit, timing) and what of it stayed private.
 */
import type { DayResult, WindowResult } from './day-result';
import { formatValue, kwhFromWh } from './market-model';
import { COLORS, table } from './report-html';
import { renderChart } from './svg-chart';

export function auctionPrivacy(day: DayResult): string {
  const sum = (value: (window: WindowResult) => number): number =>
    day.windows.reduce((total, window) => total + value(window), 0);
  const orders = sum((window) => window.offersPlaced + window.bidsPlaced);
  return `<h3>Energy auction</h3>
${table(
  ['sealed until the window closed', 'count', 'where it lived'],
  [
    [
      'orders: side, energy and limit price',
      orders,
      "the device's signed payload in transient data to its own utility's peer; that utility's private collection (salted hashes on the ledger)",
    ],
    [
      'bids among them (public before the close: only an escrow, padded to whole currency units)',
      sum((window) => window.bidsPlaced),
      'the pseudonymous account’s escrow per window',
    ],
  ],
)}
${table(
  ['public after the close (every channel member)', 'count'],
  [
    [
      'orders revealed, under per-window references and pseudonymous accounts',
      sum((window) => window.ordersRevealed),
    ],
    ['clearings: price, trades between pseudonymous accounts, totals (one per window)', day.windows.length],
    [
      'per-utility delivery totals and settlements (window × utility with trades)',
      sum((window) => window.tradeOrgs),
    ],
  ],
)}
${table(
  ['stayed private', 'count', 'where it lived'],
  [
    [
      'available energy per prosumer (caps its offer)',
      sum((window) => window.availabilityPosted),
      "transient data from the meter head-end to its utility's peer; that utility's private collection",
    ],
    [
      'meter readings per trade side (delivered, received)',
      sum((window) => window.readings),
      "transient data from the meter head-end to its utility's peer; that utility's private collection; only per-utility totals are public",
    ],
    [
      'which home holds which account',
      day.settings.homes,
      "the home's utility only (the account id is an HMAC of the home id under the utility's secret)",
    ],
  ],
)}`;
}

const priceCell = (window: WindowResult): number | string => window.clearingPrice ?? '–';

export function auctionSection(day: DayResult): string {
  if (day.settings.auctionEvery === 0) {
    return '<h2>Energy auction</h2>\n<p>No trading windows in this run (--auction-every 0).</p>';
  }
  const windows = day.windows;
  const xLabels = windows.map((window) => window.deliveryStartsAt);
  const sum = (value: (window: WindowResult) => number): number =>
    windows.reduce((total, window) => total + value(window), 0);
  const sumValue = (value: (window: WindowResult) => string): string =>
    windows.reduce((total, window) => total + BigInt(value(window)), 0n).toString();
  const audited = windows.filter((window) => window.auditMatches).length;
  return `<h2>Energy auction</h2>
<p>A trading window every ${day.settings.auctionEvery} slots for the next slot (pay-as-clear): ${windows.length} windows,
${sum((window) => window.trades)} trades, ${kwhFromWh(sum((window) => window.tradedWh))} kWh traded,
${kwhFromWh(sum((window) => window.deliveredWh))} kWh delivered by sellers and ${kwhFromWh(sum((window) => window.receivedWh))} kWh received by buyers;
buyers paid ${formatValue(sumValue((window) => window.buyersCharged))} €, sellers were paid ${formatValue(sumValue((window) => window.paidToSellers))} €,
the grid share was ${formatValue(sumValue((window) => window.gridShare))} €. ${audited} of ${windows.length} clearings recomputed by the auditor match the published ones.</p>
${renderChart({
  title: 'clearing price per window (delivery slot), pay-as-clear',
  yLabel: '€/MWh',
  xLabels,
  series: [
    {
      name: 'clearing price',
      color: COLORS.price,
      kind: 'line',
      values: windows.map((window) => window.clearingPrice),
    },
  ],
})}
${renderChart({
  title: 'energy per window: traded at the clearing, delivered after the delivery slot',
  yLabel: 'kWh',
  xLabels,
  series: [
    {
      name: 'traded',
      color: COLORS.range,
      kind: 'bars',
      values: windows.map((window) => kwhFromWh(window.tradedWh)),
    },
    {
      name: 'delivered (sellers)',
      color: COLORS.dispatched,
      kind: 'bars',
      values: windows.map((window) => kwhFromWh(window.deliveredWh)),
    },
  ],
})}
${table(
  [
    'delivery',
    'window id',
    'orders revealed',
    'offers',
    'bids',
    'trades',
    'price €/MWh',
    'offered kWh',
    'bid kWh',
    'traded kWh',
    'delivered kWh',
    'received kWh',
    'charged to buyers €',
    'paid to sellers €',
    'grid share €',
    'status',
    'audit OK',
  ],
  windows.map((window) => [
    window.deliveryStartsAt,
    window.windowId,
    window.ordersRevealed,
    window.offersPlaced,
    window.bidsPlaced,
    window.trades,
    priceCell(window),
    kwhFromWh(window.offeredWh),
    kwhFromWh(window.bidWh),
    kwhFromWh(window.tradedWh),
    kwhFromWh(window.deliveredWh),
    kwhFromWh(window.receivedWh),
    formatValue(window.buyersCharged),
    formatValue(window.paidToSellers),
    formatValue(window.gridShare),
    window.status,
    window.auditMatches ? 'yes' : 'NO',
  ]),
)}
<p class="note">Orders refused by the gateways: ${sum((window) => window.ordersRefused)}. Each window's public record is on the ledger (GetWindow, GetClearing, AuditClearing).</p>
${windowTimingTable(windows)}`;
}

function windowTimingTable(windows: readonly WindowResult[]): string {
  const phases = [...new Set(windows.flatMap((window) => Object.keys(window.timing.phasesMs)))];
  return table(
    ['delivery', 'open for orders ms', ...phases.map((phase) => `${phase} ms`), 'total ms'],
    windows.map((window) => [
      window.deliveryStartsAt,
      window.timing.closeDelayMs,
      ...phases.map((phase) => window.timing.phasesMs[phase] ?? '–'),
      window.timing.totalMs,
    ]),
  );
}

/** The ledger's metered Σ of a bus with its summed homes, withheld homes and non-compliant homes. */
