import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  connectAs,
  evaluateJson,
  loadNetworkDescription,
  type NetworkDescription,
} from '@hems/network-client';
import { expect } from 'chai';
import type { SlotView } from '@hems/protocol';
import type { BusSlotResult, DayResult } from '../../scripts/day/day-result';
import { DEFAULT_OPTIONS } from '../../scripts/day/options';
import { renderReport } from '../../scripts/day/report';
import { runDay } from '../../scripts/day/run-day';
import type { WindowPool } from '../../scripts/day/window-result';
import { useE2eGatewayPorts } from './support/gateways';
import { E2E_STATE_DIR } from './support/network';

useE2eGatewayPorts();

interface LedgerWindow {
  readonly status: string;
  readonly deliverySlotId: string;
  readonly tradeOrgs?: readonly string[];
  readonly gridShare?: string;
  readonly parts: readonly {
    readonly org: string;
    readonly revealed?: { readonly count: number };
    readonly delivery?: { readonly deliveredWh: number; readonly receivedWh: number };
    readonly settlement?: unknown;
  }[];
  readonly pool: WindowPool;
}

interface LedgerClearing {
  readonly clearingPrice: number | null;
  readonly orders: number;
  readonly trades: readonly {
    readonly sellerAccount: string;
    readonly buyerAccount: string;
    readonly energyWh: number;
  }[];
  readonly totals: { readonly offeredWh: number; readonly bidWh: number; readonly tradedWh: number };
}

/** Value units (1e-10 currency) as the exact decimal currency the report prints. */
function currency(units: string): string {
  const value = BigInt(units);
  const fraction = (value % 10n ** 10n).toString().padStart(10, '0').replace(/0+$/, '');
  return `${value / 10n ** 10n}${fraction === '' ? '' : `.${fraction}`}`;
}

/** Each window's public record and clearing, read by the auditor on the regulator's peer. */
async function ledgerWindows(
  description: NetworkDescription,
  day: DayResult,
): Promise<{ window: LedgerWindow; clearing: LedgerClearing }[]> {
  const auditor = connectAs(description, { mspId: 'RegulatorMSP', identity: 'auditor' });
  try {
    const auction = auditor.contract('auction');
    return await Promise.all(
      day.windows.map(async (window) => ({
        window: await evaluateJson<LedgerWindow>(auction, 'GetWindow', [window.windowId]),
        clearing: await evaluateJson<LedgerClearing>(auction, 'GetClearing', [window.windowId]),
      })),
    );
  } finally {
    auditor.close();
  }
}

/** The public ledger's record of every slot of the day, read by the auditor on the regulator's peer. */
async function ledgerSlots(description: NetworkDescription, day: DayResult): Promise<SlotView[]> {
  const auditor = connectAs(description, { mspId: 'RegulatorMSP', identity: 'auditor' });
  try {
    return await Promise.all(
      day.slots.map((slot) => evaluateJson<SlotView>(auditor.contract(), 'GetSlot', [slot.slotId])),
    );
  } finally {
    auditor.close();
  }
}

/**
 * Checks a bus's metered consumption in the day's result against the ledger's; answers the homes
 * the ledger's record covers.
 */
function expectMeteredAsLedger(
  label: string,
  bus: BusSlotResult,
  metered: SlotView['busTotals'][number]['consumption'],
): number {
  expect(metered, label).to.not.equal(undefined);
  if (metered === undefined) {
    return 0;
  }
  expect(bus.metered, label).to.deep.equal({
    homes: metered.homes,
    withheldHomes: metered.withheldHomes,
    drawnKw: metered.drawnKw,
    nonCompliant: metered.nonCompliant,
    ...(metered.metered === undefined ? {} : { metered: metered.metered }),
    ...(metered.mismatched === undefined ? {} : { mismatched: metered.mismatched }),
  });
  // The meter head-ends read every home that drew; each device reported what its meter read.
  expect(metered.metered, label).to.equal(metered.homes);
  expect(metered.mismatched ?? 0, label).to.equal(0);
  expect(metered.pendingOrgs).to.deep.equal([]);
  expect(metered.nonCompliant).to.equal(0);
  // The day checked Σ drawn against its homes' own draws (scripts/day/metering.ts); with no
  // summary withheld the ledger's Σ covers every home of the bus.
  expect(metered.withheldHomes).to.equal(0);
  expect(Math.abs((metered.drawnKw ?? NaN) - bus.drawnKw)).to.be.at.most(
    0.001 * Math.max(1, metered.homes ?? 0),
  );
  return (metered.homes ?? 0) + (metered.withheldHomes ?? 0);
}

describe('the simulated day (npm start) on the real network', () => {
  let description: NetworkDescription;
  let day: DayResult;

  before(async function () {
    this.timeout(600_000);
    description = loadNetworkDescription(E2E_STATE_DIR);
    // Five homes per utility and bus, so every aggregate reaches k and publishes its sums. From
    // 09:00, so the window (opened in the first slot, delivering in the second) has PV to sell.
    day = await runDay(
      {
        ...DEFAULT_OPTIONS,
        homes: 20,
        buses: 2,
        slots: 3,
        startSlot: 36,
        auctionEvery: 4,
        speed: 300,
        seed: 7,
      },
      description,
    );
  });

  it('plays every slot with every home: forecasts accepted, λ published, no home above its allowance', () => {
    expect(day.slots.map((slot) => slot.index)).to.deep.equal([36, 37, 38]);
    for (const slot of day.slots) {
      expect(slot.homesSubmitted, slot.slotId).to.equal(20);
      expect(slot.homesMissed, slot.slotId).to.equal(0);
      expect(slot.allowanceViolations, slot.slotId).to.equal(0);
      expect(slot.lambda).to.be.within(0, 1);
      expect(slot.timing.totalMs).to.be.greaterThan(0);
    }
  });

  it('reports exactly the per-bus sums, home counts and λ the ledger holds', async () => {
    const ledger = await ledgerSlots(description, day);
    day.slots.forEach((slot, position) => {
      const record = ledger[position];
      expect(record?.slotId).to.equal(slot.slotId);
      expect(record?.status).to.be.oneOf(['DISPATCHED', 'SETTLED']);
      expect(record?.dispatch?.lambda, slot.slotId).to.equal(slot.lambda);
      let homes = 0;
      for (const bus of slot.buses) {
        const total = record?.busTotals.find((entry) => entry.bus === bus.bus);
        expect(total, `${slot.slotId} ${bus.bus}`).to.not.equal(undefined);
        expect(bus.homes).to.equal(total?.homes);
        expect(bus.withheldHomes).to.equal(total?.withheldHomes);
        expect(bus.lowerKw).to.equal(total?.lower);
        expect(bus.upperKw).to.equal(total?.upper);
        homes += total?.homes ?? 0;
        // Each utility's part of the bus was published with its own count.
        const parts = record?.aggregates.filter((aggregate) => aggregate.bus === bus.bus) ?? [];
        expect(parts.map((aggregate) => aggregate.org).sort()).to.deep.equal(['UtilityAMSP', 'UtilityBMSP']);
        expect(parts.every((aggregate) => aggregate.published && aggregate.homes === 5)).to.be.true;
      }
      expect(homes).to.equal(slot.homesSubmitted);
    });
  });

  it("reports exactly the per-bus metered consumption the ledger holds, every home's draw reported", async () => {
    const ledger = await ledgerSlots(description, day);
    day.slots.forEach((slot, position) => {
      let reported = 0;
      for (const bus of slot.buses) {
        const metered = ledger[position]?.busTotals.find((entry) => entry.bus === bus.bus)?.consumption;
        reported += expectMeteredAsLedger(`${slot.slotId} ${bus.bus}`, bus, metered);
      }
      expect(reported).to.equal(slot.homesSubmitted);
    });
  });

  it('plays one trading window for the second slot: orders sealed, cleared, audited, delivered, settled, grid share claimed', async () => {
    expect(day.windows).to.have.length(1);
    const [result] = day.windows;
    const [ledger] = await ledgerWindows(description, day);
    if (result === undefined || ledger === undefined) {
      throw new Error('no window');
    }
    const { window, clearing } = ledger;
    expect(result.deliverySlotId).to.equal(day.slots[1]?.slotId);
    expect(window.deliverySlotId).to.equal(result.deliverySlotId);
    expect(result.deliveryStartsAt).to.equal('09:15');
    expect(result.ordersRefused).to.equal(0);
    expect(result.offersPlaced, 'prosumers offered their surplus').to.be.greaterThan(0);
    expect(result.bidsPlaced, 'consumers bid').to.be.greaterThan(0);
    expect(result.auditMatches).to.equal(true);
    expect(result.ordersVerified).to.equal(result.ordersRevealed);
    // Every order the devices placed was revealed by its utility and cleared.
    expect(result.ordersRevealed).to.equal(result.offersPlaced + result.bidsPlaced);
    expect(window.parts.reduce((sum, part) => sum + (part.revealed?.count ?? 0), 0)).to.equal(
      result.ordersRevealed,
    );
    expect(clearing.orders).to.equal(result.ordersRevealed);
    // The clearing, the delivery totals and the pool, exactly as the ledger holds them.
    expect(window.status).to.equal('SETTLED');
    expect(result.status).to.equal('SETTLED');
    expect(result.trades).to.equal(clearing.trades.length).and.to.be.greaterThan(0);
    expect(result.clearingPrice).to.equal(
      clearing.clearingPrice === null ? null : clearing.clearingPrice / 10_000,
    );
    expect(result).to.include({
      offeredWh: clearing.totals.offeredWh,
      bidWh: clearing.totals.bidWh,
      tradedWh: clearing.totals.tradedWh,
    });
    expect(result.tradedWh).to.equal(clearing.trades.reduce((sum, trade) => sum + trade.energyWh, 0));
    const delivered = window.parts.reduce((sum, part) => sum + (part.delivery?.deliveredWh ?? 0), 0);
    const received = window.parts.reduce((sum, part) => sum + (part.delivery?.receivedWh ?? 0), 0);
    expect(result.deliveredWh).to.equal(delivered);
    expect(result.receivedWh).to.equal(received);
    // The meters measured 90-100 % of each trade side.
    expect(delivered).to.be.within(Math.floor(result.tradedWh * 0.9) - result.trades, result.tradedWh);
    expect(received).to.be.within(Math.floor(result.tradedWh * 0.9) - result.trades, result.tradedWh);
    for (const org of window.tradeOrgs ?? []) {
      expect(window.parts.find((part) => part.org === org)?.settlement, org).to.not.equal(undefined);
    }
    expect(result.buyersCharged).to.equal(window.pool.charged);
    expect(result.paidToSellers).to.equal(window.pool.paid);
    expect(result.gridShare).to.equal(window.gridShare).and.to.equal(window.pool.toGrid);
    expect(window.pool.amount).to.equal('0');
    expect(BigInt(window.pool.charged)).to.equal(BigInt(window.pool.paid) + BigInt(window.pool.toGrid));
  });

  it("writes a report with the ledger's auction numbers and no account id", async () => {
    const html = renderReport(day);
    for (const { window, clearing } of await ledgerWindows(description, day)) {
      const delivered = window.parts.reduce((sum, part) => sum + (part.delivery?.deliveredWh ?? 0), 0);
      const row = [
        String(window.parts.reduce((sum, part) => sum + (part.revealed?.count ?? 0), 0)),
        ...[day.windows[0]?.offersPlaced, day.windows[0]?.bidsPlaced].map(String),
        String(clearing.trades.length),
        clearing.clearingPrice === null ? '–' : String(clearing.clearingPrice / 10_000),
        String(clearing.totals.offeredWh / 1000),
        String(clearing.totals.bidWh / 1000),
        String(clearing.totals.tradedWh / 1000),
        String(delivered / 1000),
      ]
        .map((cell) => `<td>${cell}</td>`)
        .join('');
      expect(html).to.include(row);
      expect(html).to.include(
        [
          currency(window.pool.charged),
          currency(window.pool.paid),
          currency(window.gridShare ?? window.pool.toGrid),
          'SETTLED',
          'yes',
        ]
          .map((cell) => `<td>${cell}</td>`)
          .join(''),
      );
      for (const trade of clearing.trades) {
        expect(html).to.not.include(trade.sellerAccount);
        expect(html).to.not.include(trade.buyerAccount);
      }
    }
  });

  it("writes a report with the ledger's numbers and no home id", () => {
    const html = renderReport(day);
    for (const slot of day.slots) {
      expect(html).to.include(`<td>${slot.lambda}</td>`);
      for (const bus of slot.buses) {
        expect(html).to.include(`<td>${bus.lowerKw}</td><td>${bus.upperKw}</td>`);
      }
    }
    const devices = JSON.parse(
      readFileSync(path.join(description.stateDir, 'day', 'devices.json'), 'utf8'),
    ) as { homeId: string }[];
    expect(devices.length).to.be.at.least(20);
    for (const device of devices) {
      expect(html).to.not.include(device.homeId);
    }
  });
});
