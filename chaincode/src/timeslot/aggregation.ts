import {
  canonicalBytes,
  type ChannelSettings,
  conflict,
  failedPrecondition,
  notFound,
  parseBusId,
  SLOT_EVENTS,
} from '@hems/protocol';
import { isoTime } from '../lib/clock';
import type { HemsContext } from '../lib/context';
import { readState, writeState } from '../lib/state';
import { listedForecasts } from './forecast-batches';
import { aggregateFromBytes, loadSlot, type AggregateRecord, type SlotRecord } from './records';
import { groupSums, sumKw } from './views';

/** The aggregate record of a utility for one bus of a slot, as its own peer publishes into it. */
export interface OwnAggregate {
  readonly org: string;
  readonly settings: ChannelSettings;
  readonly id: string;
  readonly busId: string;
  readonly slot: SlotRecord;
  readonly key: string;
  /** Unparsed, so each caller keeps its own order of slot-state checks before parsing. */
  readonly aggregateBytes: Uint8Array;
}

/**
 * The aggregate record of `org` for one bus of the slot: OpenSlot must have expected an aggregate
 * from the utility for that bus.
 */
export async function loadOwnAggregate(
  ctx: HemsContext,
  org: string,
  id: string,
  bus: string,
): Promise<OwnAggregate> {
  const settings = await ctx.settings();
  const busId = parseBusId(bus);
  const slot = await loadSlot(ctx, id);
  const key = ctx.keys.aggregate(id, org, busId);
  const aggregateBytes = await readState(ctx.stub, key);
  if (aggregateBytes === undefined) {
    throw notFound(`slot ${id} expects no aggregate from ${org} for bus ${busId}`);
  }
  return { org, settings, id, busId, slot, key, aggregateBytes };
}

/**
 * `getAgg`: sums the forecasts of one bus held by the utility and publishes {homes, lower: ΣLmin,
 * upper: ΣLmax}, or only the home count when fewer than k homes submitted. Allowed after the
 * deadline, or earlier once every enrolled home of the bus has submitted.
 */
export async function publishAggregate(ctx: HemsContext, own: OwnAggregate): Promise<AggregateRecord> {
  const { org, settings, id, busId, slot, key } = own;
  const pending = aggregateFromBytes(own.aggregateBytes);
  if (pending.published) {
    throw conflict(`the aggregate of ${org} for bus ${busId} in slot ${id} is already published`);
  }
  if (slot.dispatch !== undefined || slot.settledAt !== undefined) {
    throw failedPrecondition(`slot ${id} is already dispatched; its aggregates can no longer change`);
  }

  // Every forecast of the org's slot is read, whatever its bus: reading only this bus's keys
  // would tell every channel member which submissions (key hashes) belong to which bus.
  // Each home counts once, with its forecast in effect (the latest of its batches).
  const forecasts = [...(await listedForecasts(ctx, org, id)).values()]
    .map(({ item }) => item)
    .filter((item) => item.bus === busId);
  const now = ctx.now;
  if (now < new Date(slot.deadline) && forecasts.length < pending.expectedHomes) {
    throw failedPrecondition(
      `slot ${id} is still open for bus ${busId} of ${org}: its deadline has not passed and not every enrolled home has submitted`,
    );
  }

  // How many of the sums' forecasts their relay vouched for (OpenADR VENs): public, per bus, and
  // like the sums only from k homes on.
  const { homes, withheld, sums } = groupSums(forecasts, settings.minGroupSize, (group) => ({
    lower: sumKw(group.map((f) => f.lower)),
    upper: sumKw(group.map((f) => f.upper)),
    relayAttested: group.filter((f) => f.attested === true).length,
  }));
  const published: AggregateRecord = {
    ...pending,
    published: true,
    homes,
    withheld,
    ...sums,
    publishedAt: isoTime(now),
    publishTxId: ctx.stub.getTxID(),
  };
  await writeState(ctx.stub, key, published);
  ctx.stub.setEvent(
    SLOT_EVENTS.aggregatePublished,
    canonicalBytes({ slotId: id, org, bus: busId, homes, withheld, ...sums }),
  );
  return published;
}
