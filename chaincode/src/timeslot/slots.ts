import {
  canonicalBytes,
  conflict,
  invalidArgument,
  parseJsonArgument,
  parsePrices,
  parseSlotSchedule,
  parseTimestamp,
  SLOT_EVENTS,
  type SlotPrices,
  type SlotSchedule,
} from '@hems/protocol';
import { isoTime } from '../lib/clock';
import type { HemsContext } from '../lib/context';
import { KeyType } from '../lib/keys';
import { writeOwnedByOrg } from '../lib/ledger';
import { type Page, type PageRequest, readPage } from '../lib/paging';
import { readState, writeState, type RecordView } from '../lib/state';
import { loadEnrolment } from '../governance/enrolment';
import { openProductionRecords } from '../token/production';
import {
  loadAggregates,
  loadSlot,
  slotFromBytes,
  slotStatus,
  type AggregateRecord,
  type ExpectedAggregate,
  type SlotRecord,
} from './records';
import { slotView } from './views';

/** How far ahead of the transaction a slot's deadline may be. */
export const MAX_DEADLINE_LEAD_MS = 7 * 24 * 3600 * 1000;
export const MAX_PRICES_BYTES = 256 * 1024;

/** The terms of a new slot, as the DSO sets them. */
export interface SlotTerms {
  readonly deadline: Date;
  readonly prices: SlotPrices;
  readonly schedule?: SlotSchedule;
}

export const MAX_SCHEDULE_BYTES = 1024;

export function parseSlotTerms(deadline: string, prices: string, schedule: string, now: Date): SlotTerms {
  const deadlineAt = parseTimestamp(deadline, 'deadline');
  if (deadlineAt <= now) {
    throw invalidArgument('deadline must be after the transaction time');
  }
  if (deadlineAt.getTime() - now.getTime() > MAX_DEADLINE_LEAD_MS) {
    throw invalidArgument('deadline must be at most 7 days after the transaction time');
  }
  return {
    deadline: deadlineAt,
    prices: parsePrices(parseJsonArgument(prices, 'prices', MAX_PRICES_BYTES)),
    ...(schedule === ''
      ? {}
      : { schedule: parseSlotSchedule(parseJsonArgument(schedule, 'schedule', MAX_SCHEDULE_BYTES)) }),
  };
}

/** Opens a slot with its forecast deadline and per-bus price ranges, expecting the enrolled buses. */
export async function openSlot(ctx: HemsContext, id: string, terms: SlotTerms): Promise<RecordView> {
  const now = ctx.now;
  const slotKey = ctx.keys.slot(id);
  if ((await readState(ctx.stub, slotKey)) !== undefined) {
    throw conflict(`slot ${id} already exists`);
  }

  const expected = await enrolmentSnapshot(ctx);
  const slot: SlotRecord = {
    slotId: id,
    deadline: isoTime(terms.deadline),
    openedAt: isoTime(now),
    openTxId: ctx.stub.getTxID(),
    prices: terms.prices,
    ...(terms.schedule === undefined ? {} : { schedule: terms.schedule }),
    expected,
    productionTokenRate: (await ctx.settings()).productionTokenRate,
  };
  await writeState(ctx.stub, slotKey, slot);

  // One pending aggregate per (utility, bus). Its key-level endorsement policy names only that
  // utility's peer: no other org holds the private forecasts needed to compute the sums, so the
  // chaincode-level policy could never be satisfied for this write.
  const aggregates: AggregateRecord[] = [];
  for (const { org, bus, homes } of expected) {
    const key = ctx.keys.aggregate(id, org, bus);
    const pending: AggregateRecord = { slotId: id, org, bus, expectedHomes: homes, published: false };
    aggregates.push(pending);
    await writeOwnedByOrg(ctx.stub, key, pending, org);
  }
  // Likewise one production record per utility: its meter head-end mints on its own peer alone.
  await openProductionRecords(ctx, slot);

  ctx.stub.setEvent(
    SLOT_EVENTS.opened,
    canonicalBytes({
      slotId: id,
      deadline: slot.deadline,
      prices: terms.prices,
      ...(terms.schedule === undefined ? {} : { schedule: terms.schedule }),
      buses: expected.map(({ org, bus }) => ({ org, bus })),
    }),
  );
  return slotView(slot, aggregates, now);
}

/** The enrolled (org, bus) pairs with at least one home, as registered by each utility. */
async function enrolmentSnapshot(ctx: HemsContext): Promise<ExpectedAggregate[]> {
  const utilities = (await ctx.settings()).utilityMspIds;
  return (await loadEnrolment(ctx))
    .filter((enrolment) => enrolment.homes > 0 && utilities.includes(enrolment.org))
    .map(({ org, bus, homes }) => ({ org, bus, homes }));
}

export interface SlotSummary {
  readonly slotId: string;
  readonly deadline: string;
  readonly openedAt: string;
  readonly status: string;
  readonly lambda: number | undefined;
}

/** Slots in key order, a page at a time. */
export async function listSlots(ctx: HemsContext, request: PageRequest): Promise<Page<SlotSummary>> {
  const now = ctx.now;
  return readPage(ctx, KeyType.slot, request, async (row) => {
    const slot = slotFromBytes(row.value);
    const aggregates = await loadAggregates(ctx, slot.slotId);
    return {
      slotId: slot.slotId,
      deadline: slot.deadline,
      openedAt: slot.openedAt,
      status: slotStatus(slot, aggregates, now),
      lambda: slot.dispatch?.lambda,
    };
  });
}

/** The slot's public record with derived status, aggregates and λ. */
export async function slotViewOf(ctx: HemsContext, id: string): Promise<RecordView> {
  const slot = await loadSlot(ctx, id);
  return slotView(slot, await loadAggregates(ctx, id), ctx.now);
}
