import { canonicalBytes, conflict, failedPrecondition, SLOT_EVENTS } from '@hems/protocol';
import { isoTime } from '../lib/clock';
import type { HemsContext } from '../lib/context';
import { writeState } from '../lib/state';
import type { OwnAggregate } from './aggregation';
import { openForConsumption } from './consumption-reports';
import { listedRecords } from './home-refs';
import { aggregateFromBytes, type AggregateRecord, type ConsumptionSummary } from './records';
import { withMeterReadings } from './metered-consumption';
import { groupSums, sumKw } from './views';

/** The members of a consumption summary summed over its homes (absent below k). */
const SUMMED = ['drawnKw', 'nonCompliant', 'relayAttested', 'metered', 'mismatched'] as const;

/**
 * Publishes the utility's consumption summary of one bus into its aggregate record of the slot:
 * {homes, drawnKw: Σ, nonCompliant}, only the home count below k. Every report listed in transient
 * `refs` is read whatever its bus, so the read set does not tell which reports belong to which
 * bus. May be re-published as more homes report, until settlement.
 */
export async function publishConsumption(ctx: HemsContext, own: OwnAggregate): Promise<AggregateRecord> {
  const { org, settings, id, busId, slot, key } = own;
  openForConsumption(slot);
  const aggregate = aggregateFromBytes(own.aggregateBytes);

  const listed = await listedRecords(
    ctx,
    org,
    (ref) => ctx.keys.consumption(id, ref),
    'consumption report',
    id,
  );
  // Each report beside its meter reading, where the head-end sent one: the meter's value is
  // the one summed and judged (it validates the device's own report).
  const reports = (await withMeterReadings(ctx, org, id, listed)).filter((r) => r.report.bus === busId);
  const { homes, withheld, sums } = groupSums(reports, settings.minGroupSize, (group) => ({
    drawnKw: sumKw(group.map((r) => r.drawnKw)),
    nonCompliant: group.filter((r) => !r.compliant).length,
    relayAttested: group.filter((r) => r.report.attested === true).length,
    metered: group.filter((r) => r.metered).length,
    mismatched: group.filter((r) => r.mismatched).length,
  }));
  const previous = aggregate.consumption;
  if (previous !== undefined && homes < previous.homes) {
    throw conflict(
      `the consumption summary of ${org} for bus ${busId} in slot ${id} already counts more reports (list them again)`,
    );
  }
  // Two published sums that differ by fewer than k homes would reveal those homes' values by
  // subtraction, so a re-publication with sums must add at least k homes, or change nothing: a
  // meter reading recorded since (or corrected) changes the sums without adding a home.
  const added = homes - (previous?.homes ?? 0);
  if (
    previous !== undefined &&
    !previous.withheld &&
    !withheld &&
    added < settings.minGroupSize &&
    (added > 0 || SUMMED.some((name) => previous[name] !== sums[name]))
  ) {
    throw failedPrecondition(
      `the consumption summary of ${org} for bus ${busId} in slot ${id} can be re-published only once at least ${settings.minGroupSize} more homes have reported, or unchanged`,
    );
  }
  const consumption: ConsumptionSummary = {
    homes,
    withheld,
    ...sums,
    publishedAt: isoTime(ctx.now),
    txId: ctx.stub.getTxID(),
  };
  const updated: AggregateRecord = { ...aggregate, consumption };
  await writeState(ctx.stub, key, updated);
  ctx.stub.setEvent(
    SLOT_EVENTS.consumptionPublished,
    canonicalBytes({ slotId: id, org, bus: busId, homes, withheld }),
  );
  return updated;
}
