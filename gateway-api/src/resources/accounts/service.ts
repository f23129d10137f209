import { HttpError } from '../../http/errors';
import type { Caller } from '../../identity/caller';
import { MajorityEndorsers } from '../../ledger/endorsement';
import { decodeJson, readerIdentity } from '../../ledger/answers';
import { token } from '../../ledger/contracts';
import type { Ledger, SubmitResult } from '../../ledger/ports';
import type { CallerRequest } from '../common/guards';
import { certificateTransient } from '../common/relay';

/** A home account id; GetAccountId never answers a grid account. */
const HOME_ACCOUNT_ID = /^acct-[0-9a-f]{32}$/;

/** GetAccountId's answer: the home's pseudonymous id and whether its account exists. */
interface AccountIdAnswer {
  readonly accountId: string;
  readonly exists: boolean;
}

/**
 * The home's account id, computed by the chaincode with the utility's secret on the utility's own
 * peer (evaluate): the home id travels only in transient data to that peer.
 */
export async function accountIdOf(ledger: Ledger, home: string): Promise<AccountIdAnswer> {
  const answer = decodeJson<Partial<AccountIdAnswer> | null>(
    await token(ledger, 'admin').GetAccountId.evaluate({
      transientData: { homeId: Buffer.from(home, 'utf8') },
      endorsingOrganizations: [ledger.mspId],
    }),
  );
  if (
    typeof answer?.accountId !== 'string' ||
    !HOME_ACCOUNT_ID.test(answer.accountId) ||
    typeof answer.exists !== 'boolean'
  ) {
    throw new HttpError(502, 'BAD_LEDGER_RESPONSE', 'GetAccountId did not answer {accountId, exists}');
  }
  return { accountId: answer.accountId, exists: answer.exists };
}

export interface AccountRecord {
  readonly accountId: string;
  readonly mspId?: string;
  readonly balance?: unknown;
}

export async function loadAccount(ledger: Ledger, accountId: string): Promise<AccountRecord> {
  return decodeJson<AccountRecord>(
    await token(ledger, readerIdentity(ledger)).GetAccount.evaluate({ arguments: [accountId] }),
  );
}

/** Auditors see every account; an admin sees the accounts of its own org only. */
export function requireAccountReader(request: CallerRequest, record: AccountRecord): void {
  const caller = request.caller;
  if (caller.role !== 'auditor' && record.mspId !== caller.mspId) {
    throw new HttpError(403, 'FORBIDDEN', "an account is shown to auditors and to its own org's admins only");
  }
}

/** The device's own account, looked up by the utility's relay from its certificate. */
export async function deviceAccount(ledger: Ledger, device: Caller): Promise<AccountRecord> {
  const mine = decodeJson<AccountRecord>(
    await token(ledger, 'relay').GetMyAccount.evaluate({
      transientData: { certificate: certificateTransient(device) },
      // The account id needs the utility's secret: only its own peer can compute it.
      endorsingOrganizations: [ledger.mspId],
    }),
  );
  if (typeof mine?.accountId !== 'string') {
    throw new HttpError(502, 'BAD_LEDGER_RESPONSE', 'GetMyAccount did not answer an account id');
  }
  // GetMyAccount may answer the whole record or only the id; the balance is public either way.
  return typeof mine.balance === 'string' ? mine : loadAccount(ledger, mine.accountId);
}

/** Every entry of an account, once its reader may see it. */
export async function accountHistory(
  ledger: Ledger,
  request: CallerRequest,
  accountId: string,
): Promise<unknown> {
  // The chaincode shows a history to auditors and to the account's own org: an admin's
  // request must be made by its own org's gateway identity.
  if (request.caller.role === 'admin' && request.caller.mspId !== ledger.mspId) {
    throw new HttpError(
      403,
      'FORBIDDEN',
      `account histories on this gateway are for admins of ${ledger.mspId}`,
    );
  }
  requireAccountReader(request, await loadAccount(ledger, accountId));
  return decodeJson(
    await token(ledger, readerIdentity(ledger)).GetAccountHistory.evaluate({ arguments: [accountId] }),
  );
}

/**
 * Deposits into home accounts as the utility's admin identity. No transient data: Deposit reads
 * no private state, so it is endorsed by a majority, with the utility's own peer among them for
 * the account's key-level policy.
 */
export function depositor(ledger: Ledger): (accountId: string, amount: string) => Promise<SubmitResult> {
  const endorsers = new MajorityEndorsers(ledger);
  return async (accountId, amount) =>
    token(ledger, 'admin').Deposit.submit({
      arguments: [accountId, amount],
      endorsingOrganizations: await endorsers.withOwnOrg(),
    });
}

/** ReconcileTokens, evaluated with the gateway's reader identity on its own org's peer. */
export async function reconcileTokens(ledger: Ledger): Promise<unknown> {
  const answer = decodeJson<{ reconciled?: unknown; utilities?: unknown; grid?: unknown } | null>(
    await token(ledger, readerIdentity(ledger)).ReconcileTokens.evaluate(),
  );
  if (
    typeof answer?.reconciled !== 'boolean' ||
    !Array.isArray(answer.utilities) ||
    !Array.isArray(answer.grid)
  ) {
    throw new HttpError(
      502,
      'BAD_LEDGER_RESPONSE',
      'ReconcileTokens did not answer {reconciled, utilities, grid}',
    );
  }
  return answer;
}
