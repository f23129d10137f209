/**
 * After the event day is metered: the utilities pay and publish (dr-event.ts), the auditor reads
 * the event and its audit, and the day's result of the event is put together from the ledger's
 * public record and the simulation's own per-bus and feeder sums (dr-metrics.ts).
 */
import type { DayHome } from './devices';
import type { DrResult } from './dr-result';
import type { SlotResult } from './day-result';
import { absoluteDay, type PlayedDay } from './days';
import { eventSpan, ledgerTotals, viewCurrency, type DrEventCalls } from './dr-event';
import {
  busLoads,
  eventEnergy,
  feederLoad,
  kwOf,
  peakToAverage,
  shiftableTotals,
  type HomeDay,
} from './dr-metrics';
import { UTILITIES, type Feeder } from './feeder-model';

/** Each home's metered day with DR and without it (its twin), for the simulation's sums. */
function homeDays(homes: readonly DayHome[], day: PlayedDay): HomeDay[] {
  return homes.flatMap((home) => {
    const metered = home.state.meteredDay(absoluteDay(day.day));
    return metered === undefined ? [] : [{ bus: home.bus, ...metered }];
  });
}

/** Pays the event's rewards, reads the event and its audit, and sums the simulation's side. */
export async function settleEvent(
  event: DrEventCalls,
  homes: readonly DayHome[],
  feeder: Feeder,
  day: PlayedDay,
  slots: readonly SlotResult[],
  emergencyDeclared: boolean,
  log: (line: string) => void,
): Promise<DrResult> {
  const { plan } = event;
  log(`demand response: the utilities pay the rewards of ${plan.eventId} and publish their per-bus totals`);
  const paid = await Promise.all(
    UTILITIES.map((org) =>
      event.payUtility(
        org,
        homes.filter((home) => home.mspId === org).map((home) => home.homeId),
      ),
    ),
  );
  const view = await event.readEvent(UTILITIES);
  const audit = await event.audit();
  const totals = ledgerTotals(view);
  const span = eventSpan(plan);
  const buses = feeder.buses.map((bus) => bus.bus);
  const loads = busLoads(homeDays(homes, day), buses);
  const feederWh = feederLoad(loads);
  const emergencySlot = slots.find((slot) => slot.emergency !== undefined);
  return {
    eventId: plan.eventId,
    date: plan.date,
    startsAt: span.startsAt,
    endsAt: span.endsAt,
    slots: plan.slots.length,
    method: plan.method,
    rate: plan.rate,
    budget: plan.budget,
    declared: true,
    buses: loads.map((load) => ({
      bus: load.bus,
      homes: load.homes,
      ledger: totals.get(load.bus) ?? [],
      simulation: eventEnergy(load, span.start, span.end),
      par: { withDr: peakToAverage(load.withDr), withoutDr: peakToAverage(load.withoutDr) },
    })),
    utilities: paid.map((result) => {
      const allotment = view?.allotments?.find((entry) => entry.org === result.org);
      const allotted = viewCurrency(allotment?.allotted);
      const paidCurrency = viewCurrency(allotment?.paid);
      return {
        ...result,
        ...(allotted === undefined ? {} : { allotted }),
        ...(paidCurrency === undefined ? {} : { paid: paidCurrency }),
        ...(allotment?.homes === undefined ? {} : { homes: allotment.homes }),
        ...(allotment?.rewarded === undefined ? {} : { rewarded: allotment.rewarded }),
        totalsPublished: allotment?.totalsPublishedAt !== undefined,
      };
    }),
    audit,
    feeder: {
      withDrKw: kwOf(feederWh.withDr),
      withoutDrKw: kwOf(feederWh.withoutDr),
      par: { withDr: peakToAverage(feederWh.withDr), withoutDr: peakToAverage(feederWh.withoutDr) },
      start: span.start,
      end: span.end,
    },
    shiftable: shiftableTotals(homes.map((home) => home.state.books())),
    emergency:
      emergencySlot?.emergency === undefined
        ? null
        : {
            slotId: emergencySlot.slotId,
            startsAt: emergencySlot.startsAt,
            level: emergencySlot.emergency.level,
            declared: emergencyDeclared,
            buses: emergencySlot.emergency.buses,
          },
  };
}
