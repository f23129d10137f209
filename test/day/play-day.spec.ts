import { expect } from 'chai';
import { deliveryIntervals, type SlotSchedule, type SlotView } from '@hems/protocol';
import { absoluteSlot, type PlayedDay } from '../../scripts/day/days';
import type { DayHome, DrawOutcome, SubmitOutcome } from '../../scripts/day/devices';
import type { Dispatcher } from '../../scripts/day/dispatcher';
import { planDrEvent, type DrEventCalls } from '../../scripts/day/dr-event';
import { capacities, layoutFeeder, UTILITIES, type Feeder } from '../../scripts/day/feeder-model';
import type { HomeState, SlotSignals } from '../../scripts/day/home-state';
import type { MeterHeadEnd } from '../../scripts/day/meter-slot';
import { DEFAULT_OPTIONS, type DayOptions } from '../../scripts/day/options';
import { Failure, playDay, type DayContext } from '../../scripts/day/play-day';
import { slotPhases } from '../../scripts/day/slot-run';
import { pricesOnBus, type SlotPrices } from '../../scripts/day/tariff';
import { allowanceKw, offlineHomes } from './offline-day';

const LAMBDA = 0.7;
const DAY: PlayedDay = { day: 0, date: '2026-12-08', last: true };

/** What the fake network saw, in order. */
type Call =
  | { kind: 'open'; slotId: string; schedule?: SlotSchedule; deadline: Date }
  | { kind: 'declare' | 'emergency' };

/** A home with real appliances whose network is a table: its forecasts and the slot's λ. */
class FakeHome implements DayHome {
  readonly homeId: string;
  private readonly forecasts = new Map<
    string,
    { slot: number; lower: number; upper: number; level?: 1 | 2 | 3 }
  >();

  constructor(
    index: number,
    readonly mspId: string,
    readonly bus: string,
    readonly state: HomeState,
    private readonly prices: Map<string, SlotPrices>,
  ) {
    this.homeId = `home-${index}`;
  }

  submitForecast(slotId: string, slot: number, signals: SlotSignals = {}): Promise<SubmitOutcome> {
    const prices = this.prices.get(slotId);
    const range = this.state.forecast(
      slot,
      prices === undefined ? null : pricesOnBus(prices, this.bus),
      signals,
    );
    this.forecasts.set(slotId, {
      slot,
      lower: range.lower,
      upper: range.upper,
      ...(signals.emergencyLevel === undefined ? {} : { level: signals.emergencyLevel }),
    });
    return Promise.resolve({ accepted: true, latencyMs: 1 });
  }

  async draw(slotId: string, withoutDrLambda?: number): Promise<DrawOutcome | undefined> {
    const forecast = this.forecasts.get(slotId);
    if (forecast === undefined) {
      return undefined;
    }
    const allowedKw = allowanceKw(LAMBDA, forecast.lower, forecast.upper, forecast.level);
    const drawn = await this.state.draw(forecast.slot, {
      allowedKw,
      lambda: LAMBDA,
      ...(withoutDrLambda === undefined ? {} : { withoutDrLambda }),
    });
    return { org: this.mspId, bus: this.bus, homeId: this.homeId, ...drawn };
  }

  close(): void {
    this.forecasts.clear();
  }
}

/** The DSO's gateway as a table: slots opened with their prices, λ = LAMBDA, consumption as the homes drew. */
function fakeDispatcher(feeder: Feeder, calls: Call[], prices: Map<string, SlotPrices>): Dispatcher {
  const busTotals = (): SlotView['busTotals'] =>
    feeder.buses.map(({ bus }) => ({
      bus,
      homes: 0,
      withheldHomes: 0,
      lower: 0,
      upper: 0,
      orgs: [...UTILITIES],
      withheldOrgs: [],
      pendingOrgs: [],
    }));
  const fake = {
    openSlot: (slotId: string, deadline: Date, slotPrices: SlotPrices, schedule?: SlotSchedule) => {
      calls.push({ kind: 'open', slotId, deadline, ...(schedule === undefined ? {} : { schedule }) });
      prices.set(slotId, slotPrices);
      return Promise.resolve();
    },
    awaitAggregates: () => Promise.resolve({ closedBy: 'all-submitted', otherBuses: [] }),
    dispatch: (slotId: string) =>
      Promise.resolve({
        slotId,
        busTotals: busTotals(),
        dispatch: { lambda: LAMBDA, perBus: [], revision: 0, publishedAt: '' },
      }),
    publishConsumption: (_slotId: string, _utilities: readonly string[], draws: readonly DrawOutcome[]) =>
      Promise.resolve(
        busTotals().map((total) => {
          const onBus = draws.filter((draw) => draw.bus === total.bus);
          return {
            ...total,
            consumption: {
              homes: onBus.length,
              withheldHomes: 0,
              drawnKw: Math.round(onBus.reduce((sum, draw) => sum + draw.drawnKw, 0) * 1000) / 1000,
              nonCompliant: onBus.filter((draw) => draw.overAllowance).length,
              metered: onBus.length,
              mismatched: 0,
              orgs: [...UTILITIES],
              withheldOrgs: [],
              pendingOrgs: [],
            },
          };
        }),
      ),
  };
  return fake as unknown as Dispatcher;
}

function fakeHeadEnd(mspId: string, readings: string[]): MeterHeadEnd {
  const fake = {
    mspId,
    recordReadings: (slotId: string, draws: readonly DrawOutcome[]) => {
      readings.push(`${slotId}/${mspId}/${draws.filter((draw) => draw.org === mspId).length}`);
      return Promise.resolve(0);
    },
    mintProduction: () => Promise.resolve({ org: mspId, exports: 0, exportWh: 0, minted: '0', refused: 0 }),
  };
  return fake as unknown as MeterHeadEnd;
}

describe('day: playing a day of slots', () => {
  it('opens every slot with its schedule, opens the event’s slots ahead and declares before they play', async function () {
    this.timeout(20_000);
    const options: DayOptions = {
      ...DEFAULT_OPTIONS,
      homes: 12,
      buses: 2,
      startSlot: 66,
      slots: 12,
      speed: null,
      auctionEvery: 0,
    };
    const feeder = layoutFeeder(options.homes, options.buses);
    const calls: Call[] = [];
    const readings: string[] = [];
    const prices = new Map<string, SlotPrices>();
    const homes = offlineHomes(feeder, 4).map(
      ({ spec, state }) => new FakeHome(spec.index, spec.mspId, spec.bus, state, prices),
    );
    homes.forEach((home) => home.state.playUnsteered(absoluteSlot(0, options.startSlot)));
    const dispatcher = fakeDispatcher(feeder, calls, prices);
    const headEnds = UTILITIES.map((mspId) => fakeHeadEnd(mspId, readings));
    const plan = planDrEvent(options, 'test', DAY.date)!;
    expect(plan.slots).to.deep.equal([68, 69, 70, 71, 72, 73, 74, 75, 76, 77]);
    const event = {
      plan,
      declare: () => {
        calls.push({ kind: 'declare' });
        return Promise.resolve();
      },
      declareEmergency: () => {
        calls.push({ kind: 'emergency' });
        return Promise.resolve(true);
      },
    } as unknown as DrEventCalls;
    const context: DayContext = {
      options,
      feeder,
      dispatcher,
      phases: slotPhases(dispatcher, homes, headEnds, capacities(feeder), () => undefined),
      homes,
      auction: undefined,
      periodMs: null,
      runId: 'test',
      failure: new Failure(),
      log: () => undefined,
    };
    const { slots, emergencyDeclared } = await playDay(context, DAY, event);
    expect(context.failure.error).to.equal(undefined);
    expect(emergencyDeclared).to.be.true;
    expect(slots.map((slot) => slot.index)).to.deep.equal(
      Array.from({ length: 12 }, (_, offset) => 66 + offset),
    );
    // 66 and 67 open at their turn; then all ten event slots at once, the event and the emergency.
    const opened = calls.map((call) => (call.kind === 'open' ? call.slotId.slice(-2) : call.kind));
    expect(opened).to.deep.equal([
      '66',
      '67',
      '68',
      '69',
      '70',
      '71',
      '72',
      '73',
      '74',
      '75',
      '76',
      '77',
      'declare',
      'emergency',
    ]);
    for (const call of calls) {
      if (call.kind === 'open') {
        const index = Number(call.slotId.slice(-2));
        expect(call.slotId).to.equal(`day-test-20261208-${index}`);
        expect(deliveryIntervals(call.schedule!)).to.deep.equal({
          date: DAY.date,
          start: index,
          end: index + 1,
        });
        expect(call.schedule?.period).to.equal(index >= 68 ? 'peak' : 'mid-peak');
      }
    }
    expect(slots.map((slot) => slot.drEvent)).to.deep.equal([
      false,
      false,
      ...Array.from({ length: 10 }, () => true),
    ]);
    expect(slots.filter((slot) => slot.emergency !== undefined).map((slot) => slot.startsAt)).to.deep.equal([
      '19:00',
    ]);
    expect(slots.every((slot) => slot.allowanceViolations === 0)).to.be.true;
    expect(slots[0]?.date).to.equal(DAY.date);
    // Each utility's head-end read its own homes in every slot before the consumption was published.
    expect(readings).to.have.length(24);
    expect(readings[0]).to.equal('day-test-20261208-66/UtilityAMSP/6');
    // Every home played every slot, in order, and is ready for the rest of the day.
    homes.forEach((home) => expect(home.state.nextSlot).to.equal(absoluteSlot(0, 78)));
    homes.forEach((home) => home.state.playUnsteered(absoluteSlot(1, 0)));
    const emergency = slots.find((slot) => slot.emergency !== undefined)?.emergency;
    expect(emergency?.level).to.equal(2);
    expect(emergency?.buses.map((bus) => bus.bus)).to.deep.equal(['feeder-1', 'feeder-2']);
    expect(emergency?.buses.reduce((sum, bus) => sum + bus.essentialKw, 0)).to.be.greaterThan(0);
  });

  it('stops opening slots at the first failure and frees the homes', async function () {
    this.timeout(20_000);
    const options: DayOptions = {
      ...DEFAULT_OPTIONS,
      homes: 4,
      buses: 1,
      startSlot: 10,
      slots: 6,
      speed: null,
      auctionEvery: 0,
    };
    const feeder = layoutFeeder(options.homes, options.buses);
    const prices = new Map<string, SlotPrices>();
    const homes = offlineHomes(feeder, 4).map(
      ({ spec, state }) => new FakeHome(spec.index, spec.mspId, spec.bus, state, prices),
    );
    homes.forEach((home) => home.state.playUnsteered(absoluteSlot(0, options.startSlot)));
    const calls: Call[] = [];
    const dispatcher = fakeDispatcher(feeder, calls, prices);
    let dispatched = 0;
    const failing = Object.assign(Object.create(dispatcher) as Dispatcher, {
      dispatch: (slotId: string) => {
        dispatched += 1;
        return dispatched === 2
          ? Promise.reject(new Error(`dispatching ${slotId} failed`))
          : dispatcher.dispatch(slotId);
      },
    });
    const context: DayContext = {
      options,
      feeder,
      dispatcher: failing,
      phases: slotPhases(failing, homes, [], capacities(feeder), () => undefined),
      homes,
      auction: undefined,
      periodMs: null,
      runId: 'test',
      failure: new Failure(),
      log: () => undefined,
    };
    const { slots } = await playDay(context, { day: 0, date: DAY.date, last: false }, null);
    expect(context.failure.error?.message).to.match(/dispatching day-test-20261208-11 failed/);
    expect(slots.map((slot) => slot.index))
      .to.include(10)
      .and.not.include(11);
    expect(calls.length).to.be.below(6);
    // No slot is left in flight: the homes can play the rest of the day.
    homes.forEach((home) => expect(() => home.state.playUnsteered(absoluteSlot(1, 0))).to.not.throw());
  });
});
