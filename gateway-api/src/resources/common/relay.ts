import type { Caller } from '../../identity/caller';
import type { Transaction } from '../../ledger/contracts';
import type { Ledger, SubmitResult } from '../../ledger/ports';
import { requireOwnDevice } from './guards';

/** The device's certificate as the chaincode reads it from transient data. */
export function certificateTransient(caller: Caller): Uint8Array {
  return Buffer.from(caller.certificatePem, 'utf8');
}

/** A base64 or base64url signature as bytes. */
export function signatureBytes(signature: string): Buffer {
  return Buffer.from(signature.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
}

/** The body of a device-signed request: the exact JSON text signed, and its signature. */
export interface SignedRequest {
  readonly payload: string;
  readonly signature: string;
}

/**
 * Relays a device's signed payload as the utility's relay identity on its own peer: the proposal's
 * only argument is the slot or window id; the payload (private values), signature and certificate
 * are transient. Shared by forecasts, consumption reports, orders and cancellations.
 */
export function relaySigned(
  ledger: Ledger,
  transaction: Transaction,
  id: string,
  caller: Caller,
  body: SignedRequest,
  extraTransient: Readonly<Record<string, Uint8Array>> = {},
): Promise<SubmitResult> {
  return transaction.submit({
    arguments: [id],
    transientData: {
      payload: Buffer.from(body.payload, 'utf8'),
      signature: signatureBytes(body.signature),
      certificate: certificateTransient(caller),
      ...extraTransient,
    },
    endorsingOrganizations: [ledger.mspId],
  });
}

/** A HEMS device's signed request as the relay routes receive it. */
export interface DeviceRequest {
  readonly caller: Caller;
  readonly body: SignedRequest;
}

/**
 * Relays a device's signed request for slot or window `id` once the device is known to be one
 * this gateway serves; `check` looks at the request first (before the contract is touched).
 */
export async function relayForDevice(
  ledger: Ledger,
  request: DeviceRequest,
  id: string,
  transaction: () => Transaction,
  check?: () => void,
): Promise<SubmitResult> {
  requireOwnDevice(ledger, request);
  check?.();
  return relaySigned(ledger, transaction(), id, request.caller, request.body);
}
