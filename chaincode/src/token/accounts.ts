import {
  currencyToUnits,
  failedPrecondition,
  forbidden,
  invalidArgument,
  isAccountId,
  notFound,
  parseHomeId,
  requireString,
} from '@hems/protocol';
import { timestampToIso } from '../lib/clock';
import type { HemsContext } from '../lib/context';
import { drain } from '../lib/state';
import { requireTransientText } from '../lib/transient';
import { verifyTransientDevice } from '../governance/devices';
import { loadHomeRefSecret } from '../governance/records';
import { accountIdOf } from '../auction/references';
import { recordIssue } from './issuance';
import { accountFromBytes, emptyAccount, loadAccount, TokenBook, type AccountRecord } from './token-ledger';

export const MAX_HOME_ID_BYTES = 128;

export function parseAccountId(value: unknown): string {
  const text = requireString(value, 'accountId');
  if (!isAccountId(text)) {
    throw invalidArgument(
      'accountId must be acct- and 32 hexadecimal characters, grid:<MSP id> or pool:<MSP id>',
    );
  }
  return text;
}

/**
 * Credits `amount` (currency) to home account `id` of `org`, opening the account when it does not
 * exist yet (then `amount` may be "0", which only opens it).
 */
export async function deposit(
  ctx: HemsContext,
  org: string,
  id: string,
  amount: string,
): Promise<AccountRecord | undefined> {
  if (!id.startsWith('acct-')) {
    throw invalidArgument(
      'accountId must be a home account (acct-…); the grid account only receives grid shares',
    );
  }
  const units = currencyToUnits(amount, 'amount');
  const book = new TokenBook(ctx);
  const existing = await book.load(id);
  if (existing === undefined) {
    await book.open(id, org, org);
  } else if (existing.mspId !== org) {
    throw forbidden(`account ${id} belongs to another organization`);
  } else if (units === 0n) {
    throw invalidArgument('amount must be greater than 0 (an amount of 0 only opens a new account)');
  }
  if (units > 0n) {
    await book.deposit(id, org, units);
    await recordIssue(ctx, org, units);
  }
  await book.flush();
  return book.view(id);
}

export async function existingAccount(ctx: HemsContext, id: string): Promise<AccountRecord> {
  const account = await loadAccount(ctx, id);
  if (account === undefined) {
    throw notFound(`account ${id} does not exist`);
  }
  return account;
}

/** One version of an account: its amounts then, and the entries of the transaction that wrote it. */
export interface AccountVersion {
  readonly txId: string;
  readonly timestamp: string;
  readonly balance: string | null;
  readonly escrowed: string | null;
  readonly escrows: Readonly<Record<string, string>> | null;
  readonly entries: readonly unknown[];
}

/** Every version of an existing account with tx id and time. */
export async function accountHistory(ctx: HemsContext, id: string): Promise<AccountVersion[]> {
  return (await drain(ctx.stub.getHistoryForKey(ctx.keys.account(id)))).map((modification) => {
    const record = modification.isDelete ? undefined : accountFromBytes(modification.value);
    return {
      txId: modification.txId,
      timestamp: timestampToIso(modification.timestamp),
      balance: record?.balance ?? null,
      escrowed: record?.escrowed ?? null,
      escrows: record?.escrows ?? null,
      entries: record?.lastEntries ?? [],
    };
  });
}

/** The account of the device whose certificate is in transient `certificate` (zero when it never held tokens). */
export async function deviceAccount(ctx: HemsContext, org: string): Promise<AccountRecord> {
  const device = await verifyTransientDevice(ctx, org);
  const accountId = accountIdOf(await loadHomeRefSecret(ctx, org), device.homeId);
  return (await loadAccount(ctx, accountId)) ?? emptyAccount(accountId, org);
}

/** The account id of the home in transient `homeId` at `org`, and whether the account exists. */
export async function homeAccountId(
  ctx: HemsContext,
  org: string,
): Promise<{ accountId: string; mspId: string; exists: boolean }> {
  const homeId = parseHomeId(requireTransientText(ctx, 'homeId', MAX_HOME_ID_BYTES), 'transient homeId');
  const accountId = accountIdOf(await loadHomeRefSecret(ctx, org), homeId);
  const account = await loadAccount(ctx, accountId);
  if (account !== undefined && account.mspId !== org) {
    throw failedPrecondition(`account ${accountId} is held by another organization`);
  }
  return { accountId, mspId: org, exists: account !== undefined };
}
