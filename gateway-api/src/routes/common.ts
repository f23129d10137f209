import { HttpError } from '../http/errors';

export const slotId = {
  type: 'string',
  pattern: '^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$',
  description: 'Slot identifier, e.g. 2026-11-21T10:15Z',
} as const;

export const busId = { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$' } as const;

export const slotIdParams = {
  type: 'object',
  required: ['slotId'],
  additionalProperties: false,
  properties: { slotId },
} as const;

export interface SlotIdParams {
  slotId: string;
}

const utf8 = new TextDecoder();

/** Parses a chaincode answer (every HEMS transaction answers JSON). */
export function decodeJson<T = unknown>(bytes: Uint8Array): T {
  try {
    return JSON.parse(utf8.decode(bytes)) as T;
  } catch {
    throw new HttpError(502, 'BAD_LEDGER_RESPONSE', 'the chaincode answered something that is not JSON');
  }
}
