import { expect } from 'chai';
import type { SlotView } from '@hems/protocol';
import { planDispatch } from '@hems/gateway-api';
import { createHomeProfile, drawnPower, slotDemand } from '../../scripts/day/appliance-model';
import type { DayResult, SlotResult, WindowResult } from '../../scripts/day/day-result';
import { summarizeBuses } from '../../scripts/day/dispatch-summary';
import { capacities, layoutFeeder, UTILITIES } from '../../scripts/day/feeder-model';
import { busCell, tableRow, tableSummary, windowRow } from '../../scripts/day/live-table';
import { planOrder } from '../../scripts/day/market-model';
import { checkMetering, type HomeDraw } from '../../scripts/day/metering';
import { renderReport } from '../../scripts/day/report';
import { escapeXml } from '../../scripts/day/svg-chart';
import { slotPrices } from '../../scripts/day/tariff';

const K = 5;
const SEED = 11;

/** Everything a home keeps to itself in the simulation, to search the report for. */
interface PrivateTrace {
  readonly homeIds: string[];
  readonly values: number[];
}

/**
 * A day computed without a network: the homes' forecasts summed per utility and bus as the
 * chaincode does (sums withheld below k), λ from the DSO's optimizer, draws at the allowance.
 * In slot 1 two homes of UtilityB on feeder-2 miss, so that aggregate falls below k.
 */
function simulatedDay(): { day: DayResult; trace: PrivateTrace } {
  const feeder = layoutFeeder(24, 2);
  const capacity = capacities(feeder);
  const trace: PrivateTrace = {
    homeIds: feeder.homes.map((home) => `home-${home.mspId}-${home.index}-secret`),
    values: [],
  };
  const slots: SlotResult[] = [];
  for (let index = 0; index < 4; index += 1) {
    const prices = slotPrices(
      index * 20,
      feeder.buses.map((bus) => bus.bus),
    );
    const missing =
      index === 1
        ? feeder.homes.filter((home) => home.mspId === 'UtilityBMSP' && home.bus === 'feeder-2').slice(0, 2)
        : [];
    const submitted = feeder.homes.filter((home) => !missing.includes(home));
    const demands = new Map(
      submitted.map((home) => {
        const busPrices = prices.buses.find((entry) => entry.bus === home.bus) ?? prices.default;
        const demand = slotDemand(
          createHomeProfile(SEED, home.index),
          SEED,
          home.index,
          index * 20,
          busPrices,
        );
        trace.values.push(demand.lower, demand.upper, demand.preferredKw);
        return [home, demand];
      }),
    );
    const busTotals: SlotView['busTotals'] = feeder.buses.map(({ bus }) => {
      let homes = 0;
      let withheldHomes = 0;
      let lower = 0;
      let upper = 0;
      const withheldOrgs: string[] = [];
      for (const mspId of UTILITIES) {
        const group = [...demands]
          .filter(([home]) => home.bus === bus && home.mspId === mspId)
          .map(([, demand]) => demand);
        homes += group.length;
        if (group.length < K) {
          withheldHomes += group.length;
          withheldOrgs.push(mspId);
        } else {
          lower += group.reduce((sum, demand) => sum + demand.lower, 0);
          upper += group.reduce((sum, demand) => sum + demand.upper, 0);
        }
      }
      const round = (kw: number): number => Math.round(kw * 1000) / 1000;
      return {
        bus,
        homes,
        withheldHomes,
        lower: round(lower),
        upper: round(upper),
        orgs: [...UTILITIES],
        withheldOrgs,
        pendingOrgs: [],
      };
    });
    const { lambda } = planDispatch(
      busTotals.map((total) => ({ ...total, complete: total.withheldOrgs.length === 0 })),
      new Map(Object.entries(capacity)),
      { maxHomeKw: 50 },
    );
    const drawn = new Map<string, number>();
    const draws: HomeDraw[] = [];
    for (const [home, demand] of demands) {
      const allowed = Math.round((lambda * demand.upper + (1 - lambda) * demand.lower) * 1000) / 1000;
      const draw = drawnPower(demand, allowed);
      trace.values.push(allowed, draw);
      drawn.set(home.bus, (drawn.get(home.bus) ?? 0) + draw);
      draws.push({ org: home.mspId, bus: home.bus, drawnKw: draw, overAllowance: draw > allowed });
    }
    // The utilities' consumption summaries as the ledger would sum them (withheld below k).
    const metering: SlotView['busTotals'] = busTotals.map((total) => {
      const summedOrgs = UTILITIES.filter(
        (org) => draws.filter((entry) => entry.bus === total.bus && entry.org === org).length >= K,
      );
      const onBus = draws.filter((entry) => entry.bus === total.bus);
      const summed = onBus.filter((entry) => (summedOrgs as readonly string[]).includes(entry.org));
      return {
        ...total,
        consumption: {
          homes: summed.length,
          withheldHomes: onBus.length - summed.length,
          drawnKw: Math.round(summed.reduce((sum, entry) => sum + entry.drawnKw, 0) * 1000) / 1000,
          nonCompliant: 0,
          orgs: summedOrgs,
          withheldOrgs: UTILITIES.filter((org) => !summedOrgs.includes(org)),
          pendingOrgs: [],
        },
      };
    });
    slots.push({
      index,
      slotId: `day-test-${index}`,
      startsAt: `0${index}:00`,
      defaultPrices: prices.default,
      homesSubmitted: submitted.length,
      openadrSubmitted: 0,
      homesMissed: missing.length,
      closedBy: index === 1 ? 'deadline' : 'all-submitted',
      otherBuses: [],
      lambda,
      buses: summarizeBuses(
        busTotals,
        lambda,
        feeder.buses.map((bus) => ({
          bus: bus.bus,
          capacityKw: bus.capacityKw,
          prices: prices.buses.find((entry) => entry.bus === bus.bus) ?? prices.default,
          drawnKw: drawn.get(bus.bus) ?? 0,
        })),
      ).map((bus) => ({ ...bus, metered: checkMetering(`day-test-${index}`, bus.bus, metering, draws) })),
      allowanceViolations: 0,
      timing: {
        phasesMs: { open: 500, forecast: 1500, aggregate: 2000, dispatch: 600, deliver: 400 },
        submitP50Ms: 900,
        submitMaxMs: 1400,
        totalMs: 5000 + index,
      },
    });
  }
  // The homes' orders for the windows' delivery slots: individual values the report must not show.
  for (const deliverySlot of [41, 45, 49]) {
    const prices = slotPrices(
      deliverySlot,
      feeder.buses.map((bus) => bus.bus),
    );
    for (const home of feeder.homes) {
      const order = planOrder(
        createHomeProfile(SEED, home.index),
        SEED,
        home.index,
        deliverySlot,
        prices.buses.find((entry) => entry.bus === home.bus) ?? prices.default,
      );
      if (order !== null) {
        trace.values.push(order.energyKwh, order.limitPrice);
      }
    }
  }
  const day: DayResult = {
    startedAt: '2026-11-21T10:00:00.000Z',
    finishedAt: '2026-11-21T10:01:00.000Z',
    settings: {
      homes: 24,
      buses: 2,
      slots: 4,
      startSlot: 0,
      auctionEvery: 4,
      speed: 180,
      seed: SEED,
      openadrShare: 0,
      days: 1,
      drEvent: false,
      minGroupSize: K,
    },
    feeder: feeder.buses.map((bus) => ({
      bus: bus.bus,
      capacityKw: bus.capacityKw,
      homes: bus.homesByUtility.UtilityAMSP + bus.homesByUtility.UtilityBMSP,
    })),
    slots,
    windows: WINDOWS,
    wallSeconds: 20.5,
    enrolmentSeconds: 0,
    accountsSeconds: 3.2,
  };
  return { day, trace };
}

/** A window's public record, with what its ledger record would give (price × energy per amount). */
function windowFixture(
  deliveryIndex: number,
  deliveryStartsAt: string,
  price: number | null,
  energy: { offeredWh: number; bidWh: number; tradedWh: number; deliveredWh: number; receivedWh: number },
  counts: { offers: number; bids: number; trades: number; tradeOrgs: number },
): WindowResult {
  const priceUnits = BigInt(Math.round((price ?? 0) * 10_000));
  const charged = priceUnits * BigInt(energy.receivedWh);
  const paid = priceUnits * BigInt(Math.min(energy.deliveredWh, energy.receivedWh));
  return {
    windowId: `day-test-${deliveryIndex}-w`,
    deliverySlotId: `day-test-${deliveryIndex}`,
    deliveryIndex,
    deliveryStartsAt,
    pricingRule: 'pay-as-clear',
    availabilityPosted: 9,
    offersPlaced: counts.offers,
    bidsPlaced: counts.bids,
    ordersRefused: 0,
    ordersRevealed: counts.offers + counts.bids,
    clearingPrice: price,
    trades: counts.trades,
    ...energy,
    tradeOrgs: counts.tradeOrgs,
    readings: counts.trades * 2,
    buyersCharged: charged.toString(),
    paidToSellers: paid.toString(),
    gridShare: (charged - paid).toString(),
    status: 'SETTLED',
    auditMatches: true,
    ordersVerified: counts.offers + counts.bids,
    timing: {
      phasesMs: {
        open: 1100,
        order: 2300,
        reveal: 4100,
        clear: 900,
        release: 2600,
        deliver: 5200,
        settle: 1800,
        grid: 1000,
      },
      closeDelayMs: 8000,
      totalMs: 21_000 + deliveryIndex,
    },
  };
}

const WINDOWS: readonly WindowResult[] = [
  windowFixture(
    41,
    '10:15',
    41.2345,
    { offeredWh: 3217, bidWh: 5871, tradedWh: 3217, deliveredWh: 3050, receivedWh: 3111 },
    { offers: 5, bids: 9, trades: 4, tradeOrgs: 2 },
  ),
  windowFixture(
    45,
    '11:15',
    null,
    { offeredWh: 0, bidWh: 6402, tradedWh: 0, deliveredWh: 0, receivedWh: 0 },
    { offers: 0, bids: 10, trades: 0, tradeOrgs: 0 },
  ),
  windowFixture(
    49,
    '12:15',
    27.93,
    { offeredWh: 2958, bidWh: 2233, tradedWh: 2233, deliveredWh: 2119, receivedWh: 2176 },
    { offers: 4, bids: 8, trades: 5, tradeOrgs: 1 },
  ),
];

/** Value units as currency, computed here independently of the report's own formatting. */
function currency(units: string): string {
  const value = BigInt(units);
  const whole = value / 10n ** 10n;
  const fraction = (value % 10n ** 10n).toString().padStart(10, '0').replace(/0+$/, '');
  return fraction === '' ? whole.toString() : `${whole}.${fraction}`;
}

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

/** Balanced tags, known SVG elements only, finite coordinates: what a browser needs to draw it. */
function checkSvg(svg: string): void {
  expect(svg).to.match(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" viewBox="0 0 \d+ \d+"/);
  expect(svg).to.not.match(/NaN|undefined|Infinity|null/);
  const stack: string[] = [];
  for (const tag of svg.matchAll(/<(\/?)([a-z]+)((?:\s+[a-zA-Z0-9-]+="[^"<>]*")*)\s*(\/?)>/g)) {
    const [, closing, name = '', , selfClosing] = tag;
    expect(['svg', 'text', 'line', 'polyline', 'polygon', 'rect', 'circle']).to.include(name);
    if (closing === '/') {
      expect(stack.pop()).to.equal(name);
    } else if (selfClosing !== '/') {
      stack.push(name);
    }
  }
  expect(stack).to.deep.equal([]);
  // Every '<' starts a tag the pattern above understood.
  expect(svg.split('<').length - 1).to.equal(
    [...svg.matchAll(/<(\/?)([a-z]+)((?:\s+[a-zA-Z0-9-]+="[^"<>]*")*)\s*(\/?)>/g)].length,
  );
}

describe('day: report', () => {
  const { day, trace } = simulatedDay();
  const html = renderReport(day);

  it('is one self-contained HTML page: no script, nothing fetched', () => {
    expect(html.startsWith('<!DOCTYPE html>')).to.be.true;
    expect(html).to.not.match(/<script|<link|src=|href=|url\(/i);
  });

  it('shows per slot and bus exactly the numbers of the DayResult', () => {
    const expected = day.slots.flatMap((slot) =>
      slot.buses.map((bus) => [
        String(slot.index),
        slot.startsAt,
        slot.slotId,
        bus.bus,
        `${bus.prices.lower}–${bus.prices.upper}`,
        String(bus.homes),
        String(bus.withheldHomes),
        String(bus.lowerKw ?? 'withheld'),
        String(bus.upperKw ?? 'withheld'),
        String(bus.capacityKw),
        String(bus.busLambda ?? '–'),
        String(slot.lambda),
        String(bus.dispatchedKw ?? '–'),
        String(bus.drawnKw),
        `${bus.metered?.drawnKw} (${bus.metered?.homes}${bus.metered?.withheldHomes ? ` + ${bus.metered.withheldHomes} withheld` : ''}, 0 over)`,
        String(bus.overloadKw),
      ]),
    );
    expect(rows(section(html, 'Per slot and bus'))).to.deep.equal(expected);
    expect(day.slots[1]?.buses[1]?.withheldHomes, 'the fixture has a withheld aggregate').to.equal(4);
    expect(day.slots[1]?.buses[1]?.metered?.withheldHomes, 'and a withheld consumption summary').to.equal(4);
  });

  it('counts what the DSO saw and what stayed private', () => {
    const privacy = rows(section(html, 'Privacy: what the DSO saw, and what stayed private'));
    const pairs = day.slots.length * day.feeder.length;
    const forecasts = day.slots.reduce((sum, slot) => sum + slot.homesSubmitted, 0);
    expect(privacy[0]?.[1]).to.equal(String(pairs));
    expect(privacy[1]?.[1]).to.equal(String(pairs));
    expect(privacy[2]?.[1]).to.equal('1');
    expect(privacy[3]?.[1]).to.equal(String(day.slots.length));
    expect(privacy[4]?.[1]).to.equal(String(forecasts));
    expect(privacy[5]?.[1]).to.equal('24');
    expect(section(html, 'Privacy: what the DSO saw, and what stayed private')).to.include(
      '01:00 feeder-2 (4 homes)',
    );
  });

  it('draws valid inline SVG charts: one per bus, λ, participation and timing', () => {
    const svgs = html.match(/<svg[\s\S]*?<\/svg>/g) ?? [];
    // Buses, λ, participation, clearing price, traded energy, timing.
    expect(svgs).to.have.length(day.feeder.length + 5);
    svgs.forEach(checkSvg);
    // The participation chart has one bar per slot, the λ chart one line through every slot.
    const participation = svgs[day.feeder.length + 1] ?? '';
    expect(participation.match(/<rect x="[\d.]+" y="[\d.]+" width/g)).to.have.length(day.slots.length + 1);
  });

  it('contains no home id and no individual forecast, allowance or drawn power', () => {
    for (const homeId of trace.homeIds) {
      expect(html).to.not.include(homeId);
    }
    // A value with three decimals is distinctive; shorter ones could be a coincidental sum.
    const distinctive = trace.values.filter((value) => /\.\d{3}$/.test(String(value)));
    expect(distinctive.length).to.be.greaterThan(100);
    for (const value of distinctive) {
      const pattern = new RegExp(`(?<![\\d.])${String(value).replace('.', '\\.')}(?![\\d])`);
      expect(pattern.test(html), `individual value ${value} in the report`).to.be.false;
    }
  });

  it('shows every window of the auction with exactly the numbers of the DayResult', () => {
    const auction = section(html, 'Energy auction');
    const [windowRows, timingRows] = [
      rows(auction.slice(0, auction.indexOf('open for orders ms'))),
      rows(auction.slice(auction.indexOf('open for orders ms'))),
    ];
    expect(windowRows).to.deep.equal(
      day.windows.map((window) => [
        window.deliveryStartsAt,
        window.windowId,
        String(window.ordersRevealed),
        String(window.offersPlaced),
        String(window.bidsPlaced),
        String(window.trades),
        window.clearingPrice === null ? '–' : String(window.clearingPrice),
        String(window.offeredWh / 1000),
        String(window.bidWh / 1000),
        String(window.tradedWh / 1000),
        String(window.deliveredWh / 1000),
        String(window.receivedWh / 1000),
        currency(window.buyersCharged),
        currency(window.paidToSellers),
        currency(window.gridShare),
        'SETTLED',
        'yes',
      ]),
    );
    // The fixture's first window: 3.217 kWh at 41.2345 €/MWh, 3.05 delivered, 3.111 received.
    expect(windowRows[0]).to.include.members([
      '41.2345',
      '3.217',
      '3.05',
      '3.111',
      '0.1282805295',
      '0.125765225',
      '0.0025153045',
    ]);
    expect(timingRows.map((row) => row[0])).to.deep.equal(['10:15', '11:15', '12:15']);
    expect(timingRows[0]?.slice(1)).to.deep.equal([
      '8000',
      '1100',
      '2300',
      '4100',
      '900',
      '2600',
      '5200',
      '1800',
      '1000',
      '21041',
    ]);
    // Totals over the day.
    expect(auction).to.include('3 windows,\n9 trades, 5.45 kWh traded');
    expect(auction).to.include('5.169 kWh delivered by sellers and 5.287 kWh received by buyers');
    expect(auction).to.include('3 of 3 clearings recomputed by the auditor match');
  });

  it('charts the clearing price (a gap without trades) and the traded and delivered energy per window', () => {
    const svgs = section(html, 'Energy auction').match(/<svg[\s\S]*?<\/svg>/g) ?? [];
    expect(svgs).to.have.length(2);
    svgs.forEach(checkSvg);
    const [price = '', energy = ''] = svgs;
    // Two priced windows either side of one without trades: two single points, no line across.
    expect(price.match(/<circle /g)).to.have.length(2);
    expect(price).to.not.include('<polyline');
    // Two bar series: one bar per window and series, the window without trades at zero height.
    const bars = [...energy.matchAll(/<rect x="[\d.]+" y="[\d.]+" width="[\d.]+" height="([\d.]+)"/g)];
    // Six bars, then the legend's two colour keys.
    expect(bars).to.have.length(8);
    const heights = bars.slice(0, 6).map((bar) => Number(bar[1]));
    expect(heights.filter((height) => height === 0)).to.have.length(2);
    expect(heights.filter((height) => height > 0)).to.have.length(4);
    for (const label of ['10:15', '11:15', '12:15']) {
      expect(price).to.include(`>${label}</text>`);
    }
  });

  it('counts what the auction sealed until the close, made public after it, and kept private', () => {
    const privacy = section(html, 'Privacy: what the DSO saw, and what stayed private');
    const auctionRows = rows(privacy.slice(privacy.indexOf('<h3>Energy auction</h3>')));
    expect(auctionRows.map((row) => row[1])).to.deep.equal([
      '36', // orders sealed: 9 offers + 27 bids
      '27', // bids, with a padded public escrow
      '36', // orders revealed
      '3', // clearings
      '3', // utilities reporting and settling
      '27', // availability posts
      '18', // meter readings: two per trade
      '24', // homes whose account only their utility can link
    ]);
    expect(privacy).to.include('meter readings per trade side');
  });

  it('says so when the day ran without an auction', () => {
    const quiet = renderReport({ ...day, settings: { ...day.settings, auctionEvery: 0 }, windows: [] });
    expect(section(quiet, 'Energy auction')).to.include('No trading windows in this run (--auction-every 0)');
    expect(quiet).to.not.include('<h3>Energy auction</h3>');
    expect(quiet.match(/<svg/g)).to.have.length(day.feeder.length + 3);
  });

  it('prints a live-table line per window and a summary of the auction', () => {
    const [first, empty] = day.windows;
    if (first === undefined || empty === undefined) {
      throw new Error('fixture');
    }
    expect(windowRow(first)).to.equal(
      '  window → 10:15: orders 14, price 41.2345 €/MWh, trades 4, traded 3.217 kWh, delivered 3.050 kWh, grid share 0.0025153045 €, audit ok, 21.0 s',
    );
    expect(windowRow(empty)).to.include('price no trade,').and.include('trades 0,');
    expect(windowRow({ ...first, auditMatches: false })).to.include('audit MISMATCH');
    expect(tableSummary(day)).to.include(
      '3 trading windows settled: 9 trades, 5.450 kWh traded, 5.169 kWh delivered; 3 of 3 audits match',
    );
    expect(tableSummary(day)).not.to.include('OpenADR');
  });

  it('counts the OpenADR homes and the relay-attested forecasts of the sums, in the summary and the report', () => {
    const slots = day.slots.map((slot) => ({
      ...slot,
      openadrSubmitted: 2,
      buses: slot.buses.map((bus, index) => ({ ...bus, relayAttested: index === 0 ? 2 : 0 })),
    }));
    const withVens = { ...day, settings: { ...day.settings, openadrShare: 0.5 }, slots };
    const accepted = slots.reduce((sum, slot) => sum + slot.homesSubmitted, 0);
    const expected = `${2 * slots.length} of ${accepted} accepted forecasts came as VEN reports; the published sums counted ${2 * slots.length} relay-attested`;
    expect(tableSummary(withVens)).to.include(`OpenADR 3 VENs: ${expected}`);
    expect(renderReport(withVens)).to.include('a share of 0.5 of the homes ran a VEN');
    expect(renderReport(day)).not.to.include('ran a VEN');
  });

  it('escapes text it puts into the page', () => {
    expect(escapeXml(`<b a="1">'&'</b>`)).to.equal('&lt;b a=&quot;1&quot;&gt;&#39;&amp;&#39;&lt;/b&gt;');
    const odd = renderReport({ ...day, startedAt: '<script>alert(1)</script>' });
    expect(odd).to.not.include('<script>');
  });

  it('prints a live-table row with the slot, its sums against capacity and λ', () => {
    const slot = day.slots[1];
    if (slot === undefined) {
      throw new Error('fixture');
    }
    const row = tableRow(slot);
    expect(row).to.include(slot.startsAt).and.include(slot.lambda.toFixed(3)).and.include('deadline');
    for (const bus of slot.buses) {
      expect(row).to.include(busCell(bus));
    }
    const [firstBus] = slot.buses;
    if (firstBus === undefined) {
      throw new Error('fixture');
    }
    expect(busCell({ ...firstBus, lowerKw: null, upperKw: null, homes: 4 })).to.equal(
      `withheld 4/${firstBus.capacityKw}`,
    );
  });
});
