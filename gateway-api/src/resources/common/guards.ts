import { HttpError } from '../../http/errors';
import type { Caller } from '../../identity/caller';
import type { Ledger, ServiceIdentity } from '../../ledger/ports';

/** What the guards read of a request: the authenticated caller. */
export interface CallerRequest {
  readonly caller: Caller;
}

/** Operations that need a service identity this gateway's org does not hold belong elsewhere. */
export function requireIdentity(ledger: Ledger, identity: ServiceIdentity, what: string): void {
  if (!ledger.identities.includes(identity)) {
    throw new HttpError(403, 'FORBIDDEN', `${what} goes through a gateway of a different organization`);
  }
}

/**
 * The gateway acts as one of its own org's service identities only for that org's people: a
 * market operator of another DSO, or a utility's meter head-end at another utility's gateway, is
 * refused here even though its role is right.
 */
export function requireOwnOperator(
  ledger: Ledger,
  request: CallerRequest,
  identity: ServiceIdentity,
  what: string,
): void {
  requireIdentity(ledger, identity, what);
  if (request.caller.mspId !== ledger.mspId) {
    throw new HttpError(403, 'FORBIDDEN', `${what} on this gateway is for operators of ${ledger.mspId}`);
  }
}

/**
 * A utility's own operation on its gateway: the gateway holds its relay identity and the caller
 * is one of the utility's own people (`refusal` says who may do it instead).
 */
export function requireOwnUtility(
  ledger: Ledger,
  request: CallerRequest,
  what: string,
  refusal: string,
): void {
  requireIdentity(ledger, 'relay', what);
  if (request.caller.mspId !== ledger.mspId) {
    throw new HttpError(403, 'FORBIDDEN', refusal);
  }
}

/** HEMS devices are served only by their own utility's gateway, which relays for them. */
export function requireOwnDevice(ledger: Ledger, request: CallerRequest): { homeId: string; bus: string } {
  const caller = request.caller;
  if (caller.mspId !== ledger.mspId || caller.homeId === undefined || caller.bus === undefined) {
    throw new HttpError(403, 'FORBIDDEN', `this gateway serves HEMS devices of ${ledger.mspId} only`);
  }
  requireIdentity(ledger, 'relay', 'relaying device requests');
  return { homeId: caller.homeId, bus: caller.bus };
}

/** Devices may read public data only at their own utility's gateway; other roles anywhere. */
export function requireDeviceAtHome(ledger: Ledger, request: CallerRequest): void {
  if (request.caller.role === 'hems') {
    requireOwnDevice(ledger, request);
  }
}
