import { currencyToUnits, invalidArgument, poolAccountOf } from '@hems/protocol';
import type { HemsContext } from '../lib/context';
import { recordIssue } from './issuance';
import { TokenBook, type AccountRecord } from './token-ledger';

/**
 * Funds the DSO's demand-response pool (`pool:<DSO MSP>`) with `amount` (currency): tokens the
 * DSO issues to pay rewards, recorded like a utility's deposit (an issue record of the DSO) so the
 * reconciliation can hold the pool and every event's allotments against it. Majority-endorsed:
 * the pool has no key-level policy, so only majority transactions (this one and DeclareEvent,
 * which moves a budget out) ever change it.
 */
export async function fundDrPool(ctx: HemsContext, dso: string, amount: string): Promise<AccountRecord> {
  const units = currencyToUnits(amount, 'amount');
  if (units === 0n) {
    throw invalidArgument('amount must be greater than 0');
  }
  const accountId = poolAccountOf(dso);
  const book = new TokenBook(ctx);
  if ((await book.load(accountId)) === undefined) {
    await book.open(accountId, dso);
  }
  await book.deposit(accountId, dso, units);
  await recordIssue(ctx, dso, units);
  await book.flush();
  const view = book.view(accountId);
  if (view === undefined) {
    throw new Error('the pool account was not written');
  }
  return view;
}
