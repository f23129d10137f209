import {
  conflict,
  failedPrecondition,
  forbidden,
  invalidArgument,
  isAccountId,
  MAX_RELEASE_ACCOUNTS,
  MAX_RELEASE_ACCOUNTS_BYTES,
  notFound,
  requireArray,
} from '@hems/protocol';
import { isoTime } from '../lib/clock';
import type { HemsContext } from '../lib/context';
import { writeState } from '../lib/state';
import { requireTransientJson } from '../lib/transient';
import { TokenBook } from '../token/token-ledger';
import { tradeValueByBid } from './settlement';
import type { WindowOrgRecord } from './window';
import { type ClearedWindow, loadOrgRecord, revealedBids, revealedOrders } from './windows';

/**
 * Refunds the escrow each revealed bid of the org holds in the window above `keep` (by bid
 * reference; nothing kept for a bid not listed). Answers the total refunded.
 */
export async function refundBids(
  book: TokenBook,
  record: WindowOrgRecord,
  keep: ReadonlyMap<string, bigint>,
): Promise<bigint> {
  let refunded = 0n;
  for (const bid of revealedBids(record)) {
    const escrow = await book.escrowOf(record.windowId, bid.accountId, record.org);
    const kept = keep.get(bid.orderRef) ?? 0n;
    if (kept > escrow) {
      throw new Error('an escrow is smaller than the value of its trades');
    }
    await book.release(record.windowId, bid.accountId, record.org, escrow - kept, 'refund');
    refunded += escrow - kept;
  }
  return refunded;
}

/**
 * Once per utility after the clearing: refunds the escrow of each of its revealed bids above the
 * value of its trades. Accounts listed in transient `accounts` with an escrow in the window but no
 * revealed order are refunded in full; this part may be repeated with other accounts. Once the
 * window was settled without this utility's delivery report, a further call refunds what its bids
 * still hold.
 */
export async function releaseEscrow(
  ctx: HemsContext,
  { org, id, window, now, clearing }: ClearedWindow,
): Promise<{ windowId: string; org: string; refunded: string; unrevealedAccounts: number; txId: string }> {
  const orgRecord = await loadOrgRecord(ctx, window, org);
  const listed = parseReleaseAccounts(ctx);
  // Once the reports were closed without this utility's, its bids' trades are never charged.
  const reportsClosed = orgRecord.delivery === undefined && (window.unreportedOrgs ?? []).includes(org);
  const alreadyReleased = `${org} has already released the escrows of its revealed bids in window ${id}`;
  if (orgRecord.released !== undefined && !reportsClosed && listed.length === 0) {
    throw conflict(alreadyReleased);
  }
  const book = new TokenBook(ctx);
  let refunded = 0n;
  if (orgRecord.released === undefined || reportsClosed) {
    // With reports closed the bids' trades will never be charged: nothing is kept.
    const keep = reportsClosed ? new Map<string, bigint>() : tradeValueByBid(clearing.trades);
    refunded += await refundBids(book, orgRecord, keep);
    if (orgRecord.released !== undefined && refunded === 0n && listed.length === 0) {
      throw conflict(alreadyReleased);
    }
  }
  refunded += await refundUnrevealed(book, orgRecord, listed);
  const updated: WindowOrgRecord = {
    ...orgRecord,
    refunded: (BigInt(orgRecord.refunded) + refunded).toString(),
    released: orgRecord.released ?? { releasedAt: isoTime(now), txId: ctx.stub.getTxID() },
  };
  await writeState(ctx.stub, ctx.keys.windowOrg(id, org), updated);
  await book.flush();
  return {
    windowId: id,
    org,
    refunded: refunded.toString(),
    unrevealedAccounts: listed.length,
    txId: ctx.stub.getTxID(),
  };
}

/** Refunds in full the escrows of the listed accounts, which have no revealed order in the window. */
async function refundUnrevealed(
  book: TokenBook,
  orgRecord: WindowOrgRecord,
  listed: readonly string[],
): Promise<bigint> {
  const { windowId: id, org } = orgRecord;
  const revealedAccounts = new Set(revealedOrders([orgRecord]).map((entry) => entry.order.accountId));
  let refunded = 0n;
  for (const [index, accountId] of listed.entries()) {
    const name = `accounts[${index}]`;
    if (revealedAccounts.has(accountId)) {
      throw invalidArgument(`${name} has a revealed order in window ${id}: its escrow follows its trades`);
    }
    const account = await book.load(accountId);
    if (account === undefined) {
      throw notFound(`${name} does not exist`);
    }
    if (account.mspId !== org) {
      throw forbidden(`${name} belongs to another organization`);
    }
    const escrow = await book.escrowOf(id, accountId, org);
    if (escrow === 0n) {
      throw failedPrecondition(`${name} holds no escrow in window ${id}`);
    }
    await book.release(id, accountId, org, escrow, 'refund');
    refunded += escrow;
  }
  return refunded;
}

/** Transient `accounts`: optional JSON array of distinct home account ids. */
function parseReleaseAccounts(ctx: HemsContext): string[] {
  if ((ctx.stub.getTransient().get('accounts')?.length ?? 0) === 0) {
    return [];
  }
  const list = requireArray(
    requireTransientJson(ctx, 'accounts', MAX_RELEASE_ACCOUNTS_BYTES),
    'accounts',
    MAX_RELEASE_ACCOUNTS,
  );
  const accounts = list.map((value, index) => {
    if (typeof value !== 'string' || !value.startsWith('acct-') || !isAccountId(value)) {
      throw invalidArgument(
        `accounts[${index}] must be a home account id (acct- and 32 hexadecimal characters)`,
      );
    }
    return value;
  });
  if (new Set(accounts).size !== accounts.length) {
    throw invalidArgument('accounts lists an account twice');
  }
  return accounts;
}
