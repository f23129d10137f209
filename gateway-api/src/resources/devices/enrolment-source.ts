import { isIPv4, isIPv6 } from 'node:net';

/** An IPv6 address as its eight 16-bit groups; undefined if it is not one. */
function ipv6Groups(address: string): number[] | undefined {
  let text = address.split('%')[0] ?? '';
  // The last 32 bits may be written as an IPv4 address (::ffff:192.0.2.1).
  const dotted = /(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (dotted !== null) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) {
    return undefined;
  }
  const groupsOf = (part: string): number[] =>
    part === '' ? [] : part.split(':').map((g) => parseInt(g, 16));
  const head = groupsOf(halves[0] ?? '');
  const tail = halves.length === 2 ? groupsOf(halves[1] ?? '') : [];
  const zeros = halves.length === 2 ? 8 - head.length - tail.length : 0;
  const groups = [...head, ...new Array<number>(Math.max(zeros, 0)).fill(0), ...tail];
  return groups.length === 8 && groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff)
    ? groups
    : undefined;
}

/**
 * The source an enrolment attempt counts against, from the address Fastify gives (request.ip: the
 * TCP peer; the gateway trusts no forwarding headers). An IPv4 address is its own source, also
 * when written IPv4-mapped (::ffff:a.b.c.d). An IPv6 address counts as its /64: a single host is
 * usually given a whole /64 and could otherwise take a fresh address for every attempt.
 */
export function enrolmentSource(ip: string): string {
  if (isIPv4(ip) || !isIPv6(ip)) {
    return ip;
  }
  const groups = ipv6Groups(ip);
  if (groups === undefined) {
    return ip;
  }
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    const [high = 0, low = 0] = groups.slice(6);
    return [high >> 8, high & 0xff, low >> 8, low & 0xff].join('.');
  }
  return `${groups
    .slice(0, 4)
    .map((g) => g.toString(16))
    .join(':')}::/64`;
}
