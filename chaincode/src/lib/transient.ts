import { invalidArgument } from '@hems/protocol';
import type { HemsContext } from './context';

/** A transient field, required, with a size limit. Transient data never reaches the ledger. */
export function requireTransient(ctx: HemsContext, name: string, maxBytes: number): Uint8Array {
  const value = ctx.stub.getTransient().get(name);
  if (value === undefined || value.length === 0) {
    throw invalidArgument(`transient field '${name}' is required`);
  }
  if (value.length > maxBytes) {
    throw invalidArgument(`transient field '${name}' is larger than ${maxBytes} bytes`);
  }
  return value;
}

/** A required transient field as UTF-8 text. */
export function requireTransientText(ctx: HemsContext, name: string, maxBytes: number): string {
  return Buffer.from(requireTransient(ctx, name, maxBytes)).toString('utf8');
}

/** A required transient field holding JSON, parsed (the refusal names the field, never its content). */
export function requireTransientJson(ctx: HemsContext, name: string, maxBytes: number): unknown {
  const text = requireTransientText(ctx, name, maxBytes);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw invalidArgument(`transient field '${name}' is not valid JSON`);
  }
}
