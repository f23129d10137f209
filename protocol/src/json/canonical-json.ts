import { invalidArgument } from '../errors';

/**
 * Deterministic JSON: object keys sorted, no whitespace, only finite numbers. Every endorsing peer
 * must produce byte-identical state, and a home must be able to recompute the exact bytes of its
 * stored forecast to prove its submission against the on-chain hash.
 */
export function canonicalJson(value: unknown): string {
  return serialize(value, '$');
}

export function canonicalBytes(value: unknown): Buffer {
  return Buffer.from(canonicalJson(value), 'utf8');
}

function serialize(value: unknown, path: string): string {
  if (value === null) {
    return 'null';
  }
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) {
        throw new TypeError(`canonical JSON cannot hold a non-finite number at ${path}`);
      }
      // JSON.stringify prints -0 as 0; the shortest round-trip form is deterministic in ECMAScript.
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) {
        return `[${value.map((item, index) => serialize(item, `${path}[${index}]`)).join(',')}]`;
      }
      const record = value as Record<string, unknown>;
      const members = Object.keys(record)
        .filter((key) => record[key] !== undefined)
        .sort()
        .map((key) => `${JSON.stringify(key)}:${serialize(record[key], `${path}.${key}`)}`);
      return `{${members.join(',')}}`;
    }
    default:
      throw new TypeError(`canonical JSON cannot hold a ${typeof value} at ${path}`);
  }
}

/** Parses JSON that a caller sent, with an error that names the argument but never echoes it. */
export function parseJsonArgument(text: string, name: string, maxBytes: number): unknown {
  if (Buffer.byteLength(text, 'utf8') > maxBytes) {
    throw invalidArgument(`${name} is larger than ${maxBytes} bytes`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw invalidArgument(`${name} is not valid JSON`);
  }
}

/** Parses JSON this chaincode wrote itself; a failure here means corrupted state. */
export function parseStoredJson(bytes: Uint8Array, what: string): unknown {
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8')) as unknown;
  } catch {
    throw new Error(`stored ${what} is not valid JSON`);
  }
}

/** Parses a record this chaincode wrote and checks that its required fields are there. */
export function parseStoredRecord<T>(bytes: Uint8Array, what: string, fields: readonly string[]): T {
  const record = parseStoredJson(bytes, what);
  if (typeof record !== 'object' || record === null || Array.isArray(record)) {
    throw new Error(`stored ${what} is not a JSON object`);
  }
  const missing = fields.filter((field) => (record as Record<string, unknown>)[field] === undefined);
  if (missing.length > 0) {
    throw new Error(`stored ${what} lacks ${missing.join(', ')}`);
  }
  return record as T;
}
