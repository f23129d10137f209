import {
  canonicalBytes,
  conflict,
  failedPrecondition,
  invalidArgument,
  parseBusId,
  parseDecimalArgument,
  parseJsonArgument,
  parseReason,
  requireArray,
  requireObject,
  requireOnlyKeys,
  SLOT_EVENTS,
} from '@hems/protocol';
import { isoTime } from '../lib/clock';
import type { HemsContext } from '../lib/context';
import { compareText } from '../lib/ledger';
import { writeState, type RecordView } from '../lib/state';
import {
  allAggregatesPublished,
  loadAggregates,
  loadSlot,
  type AggregateRecord,
  type BusLambda,
  type DispatchedAggregate,
  type DispatchRecord,
  type SlotRecord,
} from './records';
import { slotView } from './views';

/** The DSO's dispatch of a slot as given: λ, optional per-bus overrides, the revision reason. */
export interface DispatchRequest {
  readonly lambda: number;
  readonly perBus: readonly BusLambda[];
  readonly revisionReason: string;
}

export function parseDispatchRequest(
  lambda: string,
  perBus: string,
  revisionReason: string,
): DispatchRequest {
  const lambdaValue = parseDecimalArgument(lambda, 'lambda');
  if (lambdaValue < 0 || lambdaValue > 1) {
    throw invalidArgument('lambda must be between 0 and 1');
  }
  if (typeof perBus !== 'string' || typeof revisionReason !== 'string') {
    throw invalidArgument('perBus and revisionReason must be strings (empty when unused)');
  }
  return { lambda: lambdaValue, perBus: parsePerBusLambdas(perBus), revisionReason };
}

function parsePerBusLambdas(text: string): BusLambda[] {
  if (text === '') {
    return [];
  }
  const list = requireArray(parseJsonArgument(text, 'perBus', 64 * 1024), 'perBus', 1000);
  const entries = list.map((item, index) => {
    const name = `perBus[${index}]`;
    const entry = requireObject(item, name);
    requireOnlyKeys(entry, name, ['bus', 'lambda']);
    if (
      typeof entry.lambda !== 'number' ||
      !Number.isFinite(entry.lambda) ||
      entry.lambda < 0 ||
      entry.lambda > 1
    ) {
      throw invalidArgument(`${name}.lambda must be a number between 0 and 1`);
    }
    return { bus: parseBusId(entry.bus, `${name}.bus`), lambda: entry.lambda };
  });
  if (new Set(entries.map((entry) => entry.bus)).size !== entries.length) {
    throw invalidArgument('perBus lists a bus twice');
  }
  return entries.sort((a, b) => compareText(a.bus, b.bus));
}

/**
 * `submitLambda`: publishes the slot's dispatch. A second dispatch is refused unless it carries a
 * revision reason; revisions stay in the slot key's history.
 */
export async function publishDispatch(
  ctx: HemsContext,
  id: string,
  request: DispatchRequest,
): Promise<RecordView> {
  ctx.requireTimely('PublishDispatch');
  const slot = await loadSlot(ctx, id);
  const knownBuses = new Set([...slot.expected.map((e) => e.bus), ...slot.prices.buses.map((p) => p.bus)]);
  const unknownBus = request.perBus.find((entry) => !knownBuses.has(entry.bus));
  if (unknownBus !== undefined) {
    throw invalidArgument(`perBus names bus ${unknownBus.bus}, which is not part of slot ${id}`);
  }
  if (slot.settledAt !== undefined) {
    throw failedPrecondition(`slot ${id} is settled; its dispatch can no longer change`);
  }
  const aggregates = await loadAggregates(ctx, id);
  const now = ctx.now;
  if (now < new Date(slot.deadline) && !allAggregatesPublished(slot, aggregates)) {
    throw failedPrecondition(
      `slot ${id} has no complete set of aggregates yet; dispatch after they are published or after the deadline ${slot.deadline}`,
    );
  }
  const { revision, reason } = nextRevision(slot, request.revisionReason);
  const dispatch: DispatchRecord = {
    lambda: request.lambda,
    perBus: request.perBus,
    revision,
    ...(reason === undefined ? {} : { reason }),
    publishedAt: isoTime(now),
    txId: ctx.stub.getTxID(),
    missing: missingAggregates(slot, aggregates),
    aggregates: dispatchedAggregates(aggregates),
  };
  const updated: SlotRecord = { ...slot, dispatch };
  await writeState(ctx.stub, ctx.keys.slot(id), updated);
  ctx.stub.setEvent(
    SLOT_EVENTS.dispatchPublished,
    canonicalBytes({ slotId: id, lambda: request.lambda, perBus: request.perBus, revision }),
  );
  return slotView(updated, aggregates, now);
}

/** The revision a new dispatch of the slot gets: 0 first, then +1 with a required reason. */
function nextRevision(slot: SlotRecord, revisionReason: string): { revision: number; reason?: string } {
  if (slot.dispatch === undefined) {
    if (revisionReason !== '') {
      throw invalidArgument(`slot ${slot.slotId} has no dispatch to revise; leave revisionReason empty`);
    }
    return { revision: 0 };
  }
  if (revisionReason === '') {
    throw conflict(
      `slot ${slot.slotId} is already dispatched (revision ${slot.dispatch.revision}); a new λ must be an explicit revision with a reason`,
    );
  }
  return { revision: slot.dispatch.revision + 1, reason: parseReason(revisionReason, 'revisionReason', 500) };
}

/** Expected aggregates not published when the DSO dispatched (after the deadline). */
function missingAggregates(
  slot: SlotRecord,
  aggregates: readonly AggregateRecord[],
): { org: string; bus: string }[] {
  return slot.expected
    .filter((e) => !aggregates.some((agg) => agg.org === e.org && agg.bus === e.bus && agg.published))
    .map(({ org, bus }) => ({ org, bus }));
}

/** The published aggregates, as the dispatch copies them into the slot record. */
function dispatchedAggregates(aggregates: readonly AggregateRecord[]): DispatchedAggregate[] {
  return aggregates
    .filter((agg) => agg.published)
    .map((agg) => ({
      org: agg.org,
      bus: agg.bus,
      homes: agg.homes ?? 0,
      withheld: agg.withheld === true,
      ...(agg.lower === undefined ? {} : { lower: agg.lower }),
      ...(agg.upper === undefined ? {} : { upper: agg.upper }),
      ...(agg.relayAttested === undefined ? {} : { relayAttested: agg.relayAttested }),
      ...(agg.publishTxId === undefined ? {} : { publishTxId: agg.publishTxId }),
    }));
}
