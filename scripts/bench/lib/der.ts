/**
 * Just enough DER to build bench device certificates from Node's own crypto (./pki.ts): encoding
 * of lengths, TLVs, integers, times and PEM, and a reader for the elements of a SEQUENCE.
 */

/** Tags of the universal types used here. */
export const TAG = {
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  objectIdentifier: 0x06,
  printableString: 0x13,
  utcTime: 0x17,
  generalizedTime: 0x18,
  sequence: 0x30,
  set: 0x31,
} as const;

/** The DER length octets of `length`. */
export function derLength(length: number): Buffer {
  if (length < 0x80) {
    return Buffer.from([length]);
  }
  const octets: number[] = [];
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) {
    octets.unshift(rest % 256);
  }
  return Buffer.from([0x80 | octets.length, ...octets]);
}

/** One element: tag, length and the concatenated contents. */
export function tlv(tag: number, ...contents: readonly Uint8Array[]): Buffer {
  const length = contents.reduce((sum, part) => sum + part.length, 0);
  const header = Buffer.concat([Buffer.from([tag]), derLength(length)]);
  return Buffer.concat([header, ...contents], header.length + length);
}

export function sequence(...contents: readonly Uint8Array[]): Buffer {
  return tlv(TAG.sequence, ...contents);
}

/** A non-negative INTEGER from its big-endian magnitude (minimal octets, 0x00 before a high bit). */
export function unsignedInteger(magnitude: Uint8Array): Buffer {
  let first = 0;
  while (first < magnitude.length - 1 && magnitude[first] === 0) {
    first += 1;
  }
  const octets = magnitude.length === 0 ? Buffer.from([0]) : Buffer.from(magnitude.subarray(first));
  return tlv(TAG.integer, (octets[0] ?? 0) > 0x7f ? Buffer.concat([Buffer.from([0]), octets]) : octets);
}

/** An OBJECT IDENTIFIER from its dotted form. */
export function objectIdentifier(dotted: string): Buffer {
  const arcs = dotted.split('.').map(Number);
  const [first = 0, second = 0, ...rest] = arcs;
  const octets: number[] = [];
  for (const arc of [first * 40 + second, ...rest]) {
    const base128 = [arc & 0x7f];
    for (let value = Math.floor(arc / 128); value > 0; value = Math.floor(value / 128)) {
      base128.unshift(0x80 | (value & 0x7f));
    }
    octets.push(...base128);
  }
  return tlv(TAG.objectIdentifier, Buffer.from(octets));
}

/** A BIT STRING without unused bits. */
export function bitString(bytes: Uint8Array): Buffer {
  return tlv(TAG.bitString, Buffer.from([0]), bytes);
}

function twoDigits(value: number): string {
  return String(value).padStart(2, '0');
}

/**
 * An X.509 Time as @peculiar/asn1-x509 writes it (and RFC 5280 requires): whole seconds, UTCTime
 * through 2049 and GeneralizedTime from 2050.
 */
export function x509Time(date: Date): Buffer {
  const year = date.getUTCFullYear();
  const rest = [
    date.getUTCMonth() + 1,
    date.getUTCDate(),
    date.getUTCHours(),
    date.getUTCMinutes(),
    date.getUTCSeconds(),
  ]
    .map(twoDigits)
    .join('');
  return year > 2049
    ? tlv(TAG.generalizedTime, Buffer.from(`${String(year).padStart(4, '0')}${rest}Z`, 'latin1'))
    : tlv(TAG.utcTime, Buffer.from(`${twoDigits(year % 100)}${rest}Z`, 'latin1'));
}

/** An element's extent in `der` from `offset`: where its contents start and where it ends. */
function elementAt(der: Uint8Array, offset: number): { contents: number; end: number } {
  const first = der[offset + 1];
  if (first === undefined) {
    throw new Error('DER: truncated element');
  }
  let length = first;
  let contents = offset + 2;
  if (first >= 0x80) {
    const octets = first & 0x7f;
    if (octets === 0 || octets > 4) {
      throw new Error('DER: unsupported length');
    }
    length = 0;
    for (let index = 0; index < octets; index += 1) {
      length = length * 256 + (der[contents + index] ?? 0);
    }
    contents += octets;
  }
  const end = contents + length;
  if (end > der.length) {
    throw new Error('DER: element runs past the end');
  }
  return { contents, end };
}

/** The elements (whole TLVs) inside the constructed element that `der` starts with. */
export function derChildren(der: Uint8Array): Buffer[] {
  const outer = elementAt(der, 0);
  const children: Buffer[] = [];
  for (let offset = outer.contents; offset < outer.end;) {
    const { end } = elementAt(der, offset);
    children.push(Buffer.from(der.subarray(offset, end)));
    offset = end;
  }
  return children;
}

/** The contents (without tag and length) of the element that `der` starts with. */
export function derContents(der: Uint8Array): Buffer {
  const { contents, end } = elementAt(der, 0);
  return Buffer.from(der.subarray(contents, end));
}

/** PEM with 64-character lines and a final newline, as OpenSSL and Node write it. */
export function pem(label: string, der: Uint8Array): string {
  const base64 = Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString('base64');
  const lines: string[] = [];
  for (let offset = 0; offset < base64.length; offset += 64) {
    lines.push(base64.slice(offset, offset + 64));
  }
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** The DER inside a PEM block (the first one). */
export function pemContents(text: string): Buffer {
  const match = /-----BEGIN [^-]+-----([A-Za-z0-9+/=\s]+)-----END [^-]+-----/.exec(text);
  if (match?.[1] === undefined) {
    throw new Error('not a PEM block');
  }
  return Buffer.from(match[1].replace(/\s+/g, ''), 'base64');
}
