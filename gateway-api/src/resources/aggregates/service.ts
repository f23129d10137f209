import { chaincodeRefusal } from '@hems/network-client';
import type { SlotView, TimeslotTransaction } from '@hems/protocol';
import { HttpError } from '../../http/errors';
import { decodeJson } from '../../ledger/answers';
import { timeslot } from '../../ledger/contracts';
import type { Ledger } from '../../ledger/ports';
import type { CallerRequest } from '../common/guards';
import { requireIdentity } from '../common/guards';
import { loadSlot } from '../slots/service';

/** What publishing one of the org's per-bus records of a slot came to. */
export interface BusPublicationOutcome {
  bus: string;
  outcome: string;
  homes?: number;
  withheld?: boolean;
}

export interface OwnPublication {
  slotId: string;
  org: string;
  buses: BusPublicationOutcome[];
}

type OwnAggregate = SlotView['aggregates'][number];

/** How one kind of per-bus record is listed and published. */
export interface PublicationSteps {
  readonly list: TimeslotTransaction;
  /** The listing's member that the publication takes in the transient field of the same name. */
  readonly listed: 'refs' | 'batches';
  readonly publish: TimeslotTransaction;
  /** The outcome of a bus with nothing to do, or undefined to publish it. */
  readonly done: (aggregate: OwnAggregate) => BusPublicationOutcome | undefined;
  /** The outcome of a bus the chaincode refused as premature (its message, never private). */
  readonly refused: (message: string) => string;
  /** The published home count and withholding, from the publication's answer. */
  readonly published: (result: Uint8Array) => { homes: number; withheld: boolean };
}

/**
 * Who may make a utility gateway publish its own per-bus records of a slot: the DSO, or the
 * utility's own admin or relay; the gateway must hold the utility's relay identity.
 */
export function requireOwnPublication(ledger: Ledger, request: CallerRequest, what: string): void {
  if (request.caller.role !== 'dso' && request.caller.mspId !== ledger.mspId) {
    throw new HttpError(403, 'FORBIDDEN', `only the DSO or ${ledger.mspId} itself may trigger its ${what}`);
  }
  requireIdentity(ledger, 'relay', what);
}

/**
 * Publishes one record per bus of this org's aggregates in a slot, all from one listing of the
 * org's private records on its own peer: each publication reads them all, so the ledger never
 * shows which record belongs to which bus. A FAILED_PRECONDITION refusal is a per-bus outcome.
 */
export async function publishPerOwnBus(
  ledger: Ledger,
  slotId: string,
  steps: PublicationSteps,
): Promise<OwnPublication> {
  const slot = await loadSlot(ledger, slotId);
  const relay = timeslot(ledger, 'relay');
  const buses: BusPublicationOutcome[] = [];
  let listed: string[] | undefined;
  for (const aggregate of slot.aggregates.filter((agg) => agg.org === ledger.mspId)) {
    const done = steps.done(aggregate);
    if (done !== undefined) {
      buses.push(done);
      continue;
    }
    listed ??= decodeJson<Record<string, string[]>>(
      await relay[steps.list].evaluate({ arguments: [slotId] }),
    )[steps.listed];
    try {
      const submitted = await relay[steps.publish].submit({
        arguments: [slotId, aggregate.bus],
        transientData: { [steps.listed]: Buffer.from(JSON.stringify(listed ?? [])) },
        endorsingOrganizations: [ledger.mspId],
      });
      const published = steps.published(submitted.result);
      buses.push({
        bus: aggregate.bus,
        outcome: 'published',
        homes: published.homes,
        withheld: published.withheld,
      });
    } catch (error) {
      const refusal = chaincodeRefusal(error);
      if (refusal?.code !== 'FAILED_PRECONDITION') {
        throw error;
      }
      // The refusal's message starts with its code; the outcome gives the reason alone.
      const reason = refusal.message.slice(refusal.code.length + 1).trim();
      buses.push({ bus: aggregate.bus, outcome: steps.refused(reason) });
    }
  }
  return { slotId, org: ledger.mspId, buses };
}

/**
 * What a utility gateway does at a slot's deadline or when the DSO asks: for each of its
 * pending aggregates, list its forecast batches on its own peer and publish their sums. A bus that may not
 * close yet (deadline not passed, enrolled homes missing) is reported, not failed.
 */
export function publishOwnAggregates(ledger: Ledger, slotId: string): Promise<OwnPublication> {
  return publishPerOwnBus(ledger, slotId, {
    list: 'ListForecastBatches',
    listed: 'batches',
    publish: 'PublishAggregate',
    done: (aggregate) =>
      aggregate.published
        ? {
            bus: aggregate.bus,
            outcome: 'already published',
            homes: aggregate.homes ?? 0,
            withheld: aggregate.withheld ?? false,
          }
        : undefined,
    refused: () => 'not yet: the window is still open',
    published: (result) => decodeJson<{ homes: number; withheld: boolean }>(result),
  });
}

/** The DSO's and auditors' view of a slot's sums: per-bus totals over every utility. */
export async function slotAggregates(ledger: Ledger, slotId: string): Promise<Record<string, unknown>> {
  const slot = await loadSlot(ledger, slotId);
  return { slotId: slot.slotId, status: slot.status, buses: slot.busTotals, aggregates: slot.aggregates };
}
