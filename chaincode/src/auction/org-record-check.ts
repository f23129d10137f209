import {
  parseStoredJson,
  requireObject,
  storedOrderFromBytes,
  storedOrderPayload,
  unitsFromStored,
} from '@hems/protocol';
import type { WindowOrgRecord, WindowRecord } from './window';

/**
 * A utility's part of a trading window as the other organizations may rely on it.
 *
 * Only the utility's own peer can endorse writes to its part (a key-level policy), so a utility
 * running modified chaincode can delete its part or put any bytes there. A part therefore speaks
 * only for its key: it must parse, name the window and organization of its key, hold amounts that
 * are non-negative whole value units, and, once revealed, a count that matches its orders (which
 * the clearing and the audit then check one by one: withReadableOrders). Anything else — a missing part included — counts as that utility not having revealed
 * and holding nothing in the window: after revealBy the clearing goes on without it, exactly as
 * without a silent utility, and its record can never stop the others' clearing or skew the pool.
 */
export function silentPart(window: WindowRecord, org: string): WindowOrgRecord {
  return { windowId: window.windowId, org, charged: '0', paid: '0', refunded: '0' };
}

function checkRevealed(value: unknown): void {
  const revealed = requireObject(value, 'revealed');
  const orders = revealed.orders;
  if (!Array.isArray(orders) || revealed.count !== orders.length) {
    throw new TypeError('revealed orders are not a counted list');
  }
  if (!orders.every((text) => typeof text === 'string')) {
    throw new TypeError('a revealed order is not text');
  }
}

function ordersOfWindow(window: WindowRecord, record: WindowOrgRecord): boolean {
  try {
    return (record.revealed?.orders ?? []).every((text) => {
      const order = storedOrderFromBytes(Buffer.from(text, 'utf8'));
      return order.windowId === window.windowId && storedOrderPayload(order).windowId === window.windowId;
    });
  } catch {
    return false;
  }
}

/**
 * The parts with their revealed orders checked one by one, for the steps that use the orders (the
 * clearing and its audit, which must agree): a part holding an order that does not parse as an
 * order of this window counts as a silent utility's. The views skip this per-order work: they show
 * only counts, and the clearing's excludedOrgs names a utility left out this way.
 */
export function withReadableOrders(
  window: WindowRecord,
  records: readonly WindowOrgRecord[],
): WindowOrgRecord[] {
  return records.map((record) => (ordersOfWindow(window, record) ? record : silentPart(window, record.org)));
}

/** The part stored under (window, org), or the silent part when the bytes do not speak for it. */
export function checkedPart(
  window: WindowRecord,
  org: string,
  bytes: Uint8Array | undefined,
): WindowOrgRecord {
  if (bytes === undefined) {
    return silentPart(window, org);
  }
  try {
    const record = requireObject(parseStoredJson(bytes, 'window org record'), 'window org record');
    if (record.windowId !== window.windowId || record.org !== org) {
      return silentPart(window, org);
    }
    for (const amount of [record.charged, record.paid, record.refunded]) {
      unitsFromStored(amount, 'window org record amount');
    }
    if (record.revealed !== undefined) {
      checkRevealed(record.revealed);
    }
    return record as unknown as WindowOrgRecord;
  } catch {
    return silentPart(window, org);
  }
}
