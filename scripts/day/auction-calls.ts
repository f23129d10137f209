/**
 * The auction's REST calls through the gateways: the identities that make them, and how their
 * answers are read and retried.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { ApiResponse } from '@hems/testkit';

export const MARKET = { mspId: 'DSOMSP', name: 'market-operator' } as const;
export const AUDITOR = { mspId: 'RegulatorMSP', name: 'auditor' } as const;
export const adminOf = (mspId: string): { mspId: string; name: string } => ({ mspId, name: 'orgadmin' });
export const meterOf = (mspId: string): { mspId: string; name: string } => ({
  mspId,
  name: 'meter-headend',
});

export const POLL_MS = 300;
/** How long a step waits for a peer to see what another one committed, or for a scheduler. */
export const STEP_TIMEOUT_MS = 90_000;

export class AuctionError extends Error {
  override readonly name = 'AuctionError';
}

interface ErrorBody {
  readonly code?: string;
  readonly message?: string;
}

export function failure(what: string, response: ApiResponse<unknown>): AuctionError {
  const body = response.body as ErrorBody | undefined;
  return new AuctionError(`${what} failed (${response.status}): ${body?.message ?? 'no message'}`);
}

/** Unavailable for now: the gateway, or a peer that has not seen a commit yet. */
export function transient(response: ApiResponse<unknown>): boolean {
  return [429, 502, 503, 504].includes(response.status);
}

/** The chaincode's "not yet": not closed, not every org revealed/reported, not settled yet. */
export function notYet(response: ApiResponse<unknown>): boolean {
  return (
    (response.status === 409 && (response.body as ErrorBody | undefined)?.code === 'FAILED_PRECONDITION') ||
    response.status === 404
  );
}

/** The chaincode's "done already" (a retried submission that had committed). */
export function alreadyDone(response: ApiResponse<unknown>): boolean {
  return response.status === 409 && (response.body as ErrorBody | undefined)?.code === 'CONFLICT';
}

/**
 * Repeats a call while its answer is transient or "not yet" (a peer behind, a deadline not
 * passed), up to STEP_TIMEOUT_MS. A CONFLICT after a transient answer means the earlier attempt
 * committed after all; the caller decides what else is acceptable.
 */
export async function persist<T>(what: string, call: () => Promise<ApiResponse<T>>): Promise<ApiResponse<T>> {
  const giveUp = Date.now() + STEP_TIMEOUT_MS;
  let retried = false;
  for (;;) {
    const response = await call();
    if (alreadyDone(response) && !retried) {
      throw failure(what, response);
    }
    if (!(transient(response) || notYet(response)) || Date.now() > giveUp) {
      return response;
    }
    retried = retried || transient(response);
    await delay(POLL_MS);
  }
}
