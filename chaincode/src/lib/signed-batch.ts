import {
  ContractError,
  invalidArgument,
  MAX_CERTIFICATE_PEM_BYTES,
  MAX_SIGNATURE_BYTES,
  MAX_SIGNED_PAYLOAD_BYTES,
  parseJsonArgument,
  requireArray,
  requireObject,
  requireOnlyKeys,
  requireString,
} from '@hems/protocol';
import type { HemsContext } from './context';
import { requireTransient, requireTransientText } from './transient';

/**
 * A relay's batch of device-signed items (forecasts, consumption reports, orders, cancellations):
 * the transient field `items`, each entry parsed and later verified on its own, so one bad entry
 * is refused alone, by position.
 */

/** Items per relay batch: the transient data stays within a few MiB. */
export const MAX_BATCH_ITEMS = 1000;
export const MAX_BATCH_BYTES = 4 * 1024 * 1024;

/**
 * One item as the relay forwards it in a batch: device-signed, or relay-attested (an OpenADR VEN's
 * item, which the relay vouches for: no signature; the certificate is the home's, issued by the
 * utility's CA for it, whose private key nobody kept).
 */
export interface SignedBatchEntry {
  readonly payload: Uint8Array;
  /** Empty for a relay-attested item. */
  readonly signature: Uint8Array;
  readonly certificate: string;
  readonly attestation?: 'relay';
  /** Members a kind of batch adds (e.g. a consumption report's forecastBatch), unchecked. */
  readonly [extra: string]: unknown;
}

/** An item's refusal: its position and a code and message that never carry its values. */
export interface ItemRefusal {
  readonly index: number;
  readonly code: string;
  readonly message: string;
}

function base64Field(entry: Record<string, unknown>, name: string, index: number, max: number): Buffer {
  const text = requireString(entry[name], `items[${index}].${name}`);
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(text)) {
    throw invalidArgument(`items[${index}].${name} must be base64`);
  }
  const bytes = Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  if (bytes.length === 0 || bytes.length > max) {
    throw invalidArgument(`items[${index}].${name} must decode to 1-${max} bytes`);
  }
  return bytes;
}

/**
 * One entry of a relay batch: {payload, signature (base64), certificate (PEM)}, or a relay-attested
 * {payload, attestation: "relay", certificate}, and `extra` members.
 */
export function parseEntry(value: unknown, index: number, extra: readonly string[] = []): SignedBatchEntry {
  const entry = requireObject(value, `items[${index}]`);
  const attested = entry.attestation !== undefined;
  requireOnlyKeys(entry, `items[${index}]`, [
    'payload',
    attested ? 'attestation' : 'signature',
    'certificate',
    ...extra,
  ]);
  if (attested && entry.attestation !== 'relay') {
    throw invalidArgument(`items[${index}].attestation must be "relay"`);
  }
  const certificate = requireString(entry.certificate, `items[${index}].certificate`);
  if (Buffer.byteLength(certificate, 'utf8') > MAX_CERTIFICATE_PEM_BYTES) {
    throw invalidArgument(`items[${index}].certificate is larger than ${MAX_CERTIFICATE_PEM_BYTES} bytes`);
  }
  return {
    payload: base64Field(entry, 'payload', index, MAX_SIGNED_PAYLOAD_BYTES),
    signature: attested ? new Uint8Array(0) : base64Field(entry, 'signature', index, MAX_SIGNATURE_BYTES),
    certificate,
    ...(attested ? { attestation: 'relay' as const } : {}),
    ...Object.fromEntries(extra.map((name) => [name, entry[name]])),
  };
}

/**
 * The transient field `items`: a JSON array of {payload, signature (base64), certificate (PEM)}
 * and `extra` members. A malformed entry is refused alone; a malformed list refuses the batch.
 */
export function readEntries(
  ctx: HemsContext,
  extra: readonly string[] = [],
): (SignedBatchEntry | ContractError)[] {
  const list = requireArray(
    parseJsonArgument(requireTransientText(ctx, 'items', MAX_BATCH_BYTES), 'items', MAX_BATCH_BYTES),
    'items',
    MAX_BATCH_ITEMS,
  );
  if (list.length === 0) {
    throw invalidArgument('items must hold at least one signed payload');
  }
  return list.map((value, index) => {
    try {
      return parseEntry(value, index, extra);
    } catch (error) {
      if (error instanceof ContractError) {
        return error;
      }
      throw error;
    }
  });
}

/** An item's refusal from what its check threw; anything but a ContractError is rethrown. */
export function refusalOf(error: unknown, index: number): ItemRefusal {
  if (!(error instanceof ContractError)) {
    throw error;
  }
  return { index, code: error.code, message: error.message.slice(error.code.length + 2) };
}

/**
 * The one signed item of a single-item transaction (SubmitForecast, ReportConsumption, SubmitOrder,
 * CancelOrder): transient `payload`, `signature` and `certificate`, which it runs as a batch of one.
 */
export function transientEntry(ctx: HemsContext): SignedBatchEntry {
  return {
    payload: requireTransient(ctx, 'payload', MAX_SIGNED_PAYLOAD_BYTES),
    signature: requireTransient(ctx, 'signature', MAX_SIGNATURE_BYTES),
    certificate: requireTransientText(ctx, 'certificate', MAX_CERTIFICATE_PEM_BYTES),
  };
}

/** A batch of one refused as a whole when its item is: the item's refusal, thrown. */
export function refusedAsWhole<Receipt extends { readonly refused: readonly ItemRefusal[] }>(
  receipt: Receipt,
): Receipt {
  const refusal = receipt.refused[0];
  if (refusal !== undefined) {
    throw new ContractError(refusal.code as ContractError['code'], refusal.message);
  }
  return receipt;
}
