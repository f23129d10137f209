import { HttpError } from '../../http/errors';
import type { Caller } from '../../identity/caller';
import { decodeJson, readerIdentity } from '../../ledger/answers';
import { dr, token } from '../../ledger/contracts';
import { listedPage } from '../../ledger/paging';
import type { Ledger, SubmitResult } from '../../ledger/ports';
import { someAccepted } from '../common/answers';
import { certificateTransient } from '../common/relay';
import { currencyAmount, hasAtMostDecimals } from '../common/units';
import { MAX_DR_AMOUNT } from './schemas';

/**
 * Demand response (docs/demand-response.md) over the `dr` contract: the DSO funds its pool and
 * declares events (majority-endorsed), a utility pays its homes' rewards and publishes per-bus
 * totals on its own peer (the home ids in transient data only), a device reads its own reward,
 * everyone reads and audits events.
 */

/** Mints `amount` into the DSO's pool account as the DSO identity, under the majority policy. */
export function fundPool(ledger: Ledger, amount: unknown): Promise<SubmitResult> {
  const checked = currencyAmount(amount, 'amount', MAX_DR_AMOUNT);
  return token(ledger, 'dso').FundDrPool.submit({ arguments: [checked] });
}

/** An event as the DSO declares it (POST /v1/dr/events). */
export interface EventDeclaration {
  readonly eventId: string;
  readonly slotIds: readonly string[];
  readonly method: string;
  readonly rate: number;
  readonly budget: unknown;
}

/**
 * Declares an event as the DSO identity, under the majority policy: the event id, and its terms
 * as one JSON argument (all public: slots, method, rate, budget).
 */
export function declareEvent(ledger: Ledger, declaration: EventDeclaration): Promise<SubmitResult> {
  if (!hasAtMostDecimals(declaration.rate, 4)) {
    throw new HttpError(400, 'INVALID_REQUEST', 'rate must have at most 4 decimal places');
  }
  const terms = {
    slotIds: declaration.slotIds,
    method: declaration.method,
    rate: declaration.rate,
    budget: currencyAmount(declaration.budget, 'budget', MAX_DR_AMOUNT),
  };
  return dr(ledger, 'dso').DeclareEvent.submit({
    arguments: [declaration.eventId, JSON.stringify(terms)],
  });
}

/** A page of events (its bookmark opaque: ledger/paging.ts). */
export function listEvents(ledger: Ledger, pageSize?: string, bookmark?: string): Promise<unknown> {
  return listedPage(dr(ledger, readerIdentity(ledger)).ListEvents, pageSize, bookmark);
}

/** The public event record, read on the gateway's own peer. */
export async function loadEvent(ledger: Ledger, eventId: string): Promise<unknown> {
  return decodeJson(await dr(ledger, readerIdentity(ledger)).GetEvent.evaluate({ arguments: [eventId] }));
}

/** The event's public accounts recomputed and checked. */
export async function auditEvent(ledger: Ledger, eventId: string): Promise<unknown> {
  return decodeJson(await dr(ledger, readerIdentity(ledger)).AuditEvent.evaluate({ arguments: [eventId] }));
}

/**
 * Pays the event's rewards to these homes as the utility's admin on its own peer, the only one
 * holding their meter history: the home ids go in transient data, never in the arguments. A call
 * in which every home is refused is endorsed but not ordered.
 */
export function payRewards(
  ledger: Ledger,
  eventId: string,
  homeIds: readonly string[],
): Promise<SubmitResult> {
  return dr(ledger, 'admin').PayRewards.submit({
    arguments: [eventId],
    transientData: { homeIds: Buffer.from(JSON.stringify(homeIds), 'utf8') },
    endorsingOrganizations: [ledger.mspId],
    submitIf: someAccepted,
  });
}

/** Publishes the per-bus totals of the utility's paid homes, on its own peer. */
export function publishRewardTotals(ledger: Ledger, eventId: string): Promise<SubmitResult> {
  return dr(ledger, 'admin').PublishRewardTotals.submit({
    arguments: [eventId],
    endorsingOrganizations: [ledger.mspId],
  });
}

/**
 * The device's own baseline, metered energy and reward, computed by its utility's relay on the
 * utility's own peer (its meter history is there) from the device's certificate.
 */
export async function myReward(ledger: Ledger, eventId: string, device: Caller): Promise<unknown> {
  return decodeJson(
    await dr(ledger, 'relay').GetMyReward.evaluate({
      arguments: [eventId],
      transientData: { certificate: certificateTransient(device) },
      endorsingOrganizations: [ledger.mspId],
    }),
  );
}
