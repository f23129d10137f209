import { HttpError } from '../../http/errors';
import { decodeJson } from '../../ledger/answers';
import { governance, timeslot } from '../../ledger/contracts';
import type { Ledger, SubmitResult } from '../../ledger/ports';
import { busAggregatesOf, planDispatch, type DispatchPlan } from '../../services/dispatch-optimizer';
import { loadSlot } from '../slots/service';

/** What the DSO asks to dispatch: λ (and per-bus λs), or a feeder model for the optimizer. */
export interface DispatchRequest {
  readonly lambda?: number;
  readonly perBus?: readonly { readonly bus: string; readonly lambda: number }[];
  readonly capacities?: Readonly<Record<string, number>>;
  readonly revisionReason?: string;
}

/**
 * The channel's per-home forecast maximum, read at each optimized dispatch: settings change by
 * governance vote, and a stale, larger bound would only be more conservative, a smaller one unsafe.
 */
async function readMaxHomeKw(ledger: Ledger): Promise<number> {
  const settings = decodeJson<{ maxHomeKw?: unknown } | null>(
    await governance(ledger, 'dso').GetSettings.evaluate(),
  );
  const maxHomeKw = settings?.maxHomeKw;
  if (typeof maxHomeKw !== 'number' || !Number.isFinite(maxHomeKw) || maxHomeKw <= 0) {
    throw new HttpError(502, 'BAD_LEDGER_RESPONSE', 'governance:GetSettings answered no positive maxHomeKw');
  }
  return maxHomeKw;
}

/** The plan as JSON: a bus without a given capacity has capacityKw null (JSON has no Infinity). */
function planView(plan: DispatchPlan): Record<string, unknown> {
  return {
    ...plan,
    buses: plan.buses.map((bus) => ({
      ...bus,
      capacityKw: Number.isFinite(bus.capacityKw) ? bus.capacityKw : null,
    })),
  };
}

/** λ as the chaincode reads it: a plain decimal (never 1e-7), at most 6 places. */
function plainDecimal(value: number): string {
  return value.toFixed(6).replace(/\.?0+$/, '');
}

/** The optimizer's plan for a slot from its published sums and the DSO's feeder capacities. */
async function optimizedPlan(
  ledger: Ledger,
  slotId: string,
  capacities: Readonly<Record<string, number>>,
): Promise<DispatchPlan> {
  const aggregates = busAggregatesOf(await loadSlot(ledger, slotId));
  // The settings are read only when a bus has homes outside its sums.
  const unreported = aggregates.some(
    (aggregate) => (aggregate.withheldHomes ?? 0) + (aggregate.pendingHomes ?? 0) > 0,
  );
  return planDispatch(
    aggregates,
    new Map(Object.entries(capacities)),
    unreported ? { maxHomeKw: await readMaxHomeKw(ledger) } : {},
  );
}

/**
 * Publishes λ as the DSO identity: the explicit λ, or the one the optimizer computes from the
 * feeder model (then answered with its plan).
 */
export async function publishDispatch(
  ledger: Ledger,
  slotId: string,
  request: DispatchRequest,
): Promise<{ submitted: SubmitResult; answer: Record<string, unknown> }> {
  let lambda = request.lambda;
  let perBus = request.perBus ?? [];
  let plan: DispatchPlan | undefined;
  if (lambda === undefined) {
    plan = await optimizedPlan(ledger, slotId, request.capacities ?? {});
    lambda = plan.lambda;
    perBus = [];
  }
  const submitted = await timeslot(ledger, 'dso').PublishDispatch.submit({
    arguments: [
      slotId,
      plainDecimal(lambda),
      perBus.length > 0 ? JSON.stringify(perBus) : '',
      request.revisionReason ?? '',
    ],
  });
  const published = decodeJson<Record<string, unknown>>(submitted.result);
  return { submitted, answer: plan === undefined ? published : { ...published, plan: planView(plan) } };
}
