import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

/**
 * Where the VTN may post a subscription's notifications. A VEN chooses the callback URL, so the
 * gateway must not become its way into the utility's own network: outside development, a callback
 * must be https and resolve only to public addresses (no loopback, private, link-local, CGNAT,
 * multicast or unique-local ones), and redirects are not followed.
 */
const NOT_PUBLIC = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 3],
] as const) {
  NOT_PUBLIC.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 127],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  NOT_PUBLIC.addSubnet(network, prefix, 'ipv6');
}

/** Whether an IP address is a public unicast one. */
export function isPublicAddress(address: string): boolean {
  // An IPv4-mapped IPv6 address is judged as its IPv4 address.
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address)?.[1];
  const candidate = mapped ?? address;
  const family = isIP(candidate);
  if (family === 0) {
    return false;
  }
  return !NOT_PUBLIC.check(candidate, family === 4 ? 'ipv4' : 'ipv6');
}

export interface CallbackPolicy {
  /** Development and tests: http: and private addresses (e.g. a local test server) are allowed. */
  readonly development: boolean;
  /** Resolves a host name to its addresses; the system resolver by default. */
  readonly resolve?: (host: string) => Promise<readonly string[]>;
}

const systemResolve = async (host: string): Promise<string[]> =>
  (await lookup(host, { all: true })).map((entry) => entry.address);

/** Why a callback URL is refused when a VEN subscribes; undefined when it may be used. */
export function callbackRefusal(text: string, policy: CallbackPolicy): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'callbackUrl must be an absolute URL';
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && policy.development)) {
    return 'callbackUrl must be an https URL';
  }
  if (url.username !== '' || url.password !== '') {
    return 'callbackUrl must not carry credentials';
  }
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (!policy.development && (host === 'localhost' || (isIP(host) !== 0 && !isPublicAddress(host)))) {
    return 'callbackUrl must be a public address';
  }
  return undefined;
}

/** Whether a callback may be posted now: its host resolves to public addresses only (outside development). */
export async function mayDeliver(text: string, policy: CallbackPolicy): Promise<boolean> {
  if (callbackRefusal(text, policy) !== undefined) {
    return false;
  }
  if (policy.development) {
    return true;
  }
  const host = new URL(text).hostname.replace(/^\[|\]$/g, '');
  try {
    const addresses = isIP(host) !== 0 ? [host] : await (policy.resolve ?? systemResolve)(host);
    return addresses.length > 0 && addresses.every(isPublicAddress);
  } catch {
    return false;
  }
}
