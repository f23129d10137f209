import { Contract, Info, Param, Returns, Transaction } from 'fabric-contract-api';
import {
  canonicalJson,
  currencyToUnits,
  failedPrecondition,
  forbidden,
  invalidArgument,
  isAccountId,
  MAX_CERTIFICATE_PEM_BYTES,
  notFound,
  parseHomeId,
  requireString,
} from '@hems/protocol';
import { timestampToIso } from '../lib/clock';
import { HemsContext } from '../lib/context';
import { loadHomeRefSecret, requireTransient, verifyDevice } from '../lib/ledger';
import { drain } from '../lib/state';
import { accountIdOf } from '../auction/references';
import { accountFromBytes, emptyAccount, loadAccount, TokenBook } from '../auction/token-ledger';

export const MAX_HOME_ID_BYTES = 128;

function parseAccountId(value: unknown): string {
  const text = requireString(value, 'accountId');
  if (!isAccountId(text)) {
    throw invalidArgument('accountId must be acct- and 32 hexadecimal characters, or grid:<MSP id>');
  }
  return text;
}

/**
 * The token ledger of the energy auction: pseudonymous accounts (`acct-` + an HMAC of the home id
 * under its utility's secret) with a balance and the escrows held for bids. Tokens enter by a
 * utility's deposit and move only through the auction (escrow, refund, charge, payment, grid
 * share): there is no transfer between accounts.
 */
@Info({ title: 'TokenContract', description: 'Pseudonymous token accounts of the energy auction' })
export class TokenContract extends Contract {
  constructor() {
    super('token');
  }

  override createContext(): HemsContext {
    return new HemsContext();
  }

  /**
   * Utility admin: credits `amount` (currency, at most 4 decimals) to a home account of its own
   * utility, creating the account when it does not exist yet (then `amount` may be "0", which only
   * opens it). Reads no private data, so it runs on any peer: it is endorsed under the chaincode's
   * majority policy, and the caller's own peer must be among the endorsers, because an existing
   * account carries a key-level policy naming that peer (set here when the account is created).
   * The account id comes from GetAccountId.
   */
  @Transaction()
  @Param('accountId', 'string', 'home account id (acct- and 32 hexadecimal characters)')
  @Param('amount', 'string', 'currency amount, e.g. "25.5"')
  @Returns('string')
  async Deposit(ctx: HemsContext, accountId: string, amount: string): Promise<string> {
    const caller = await ctx.requireUtilityAdmin('Deposit');
    const org = caller.mspId;
    const id = parseAccountId(accountId);
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
    }
    await book.flush();
    return canonicalJson(book.view(id));
  }

  /** Any member: an account's public record. */
  @Transaction(false)
  @Param('accountId', 'string', 'account id (acct-… or grid:<MSP>)')
  @Returns('string')
  async GetAccount(ctx: HemsContext, accountId: string): Promise<string> {
    await ctx.requireMember('GetAccount');
    const id = parseAccountId(accountId);
    const account = await loadAccount(ctx, id);
    if (account === undefined) {
      throw notFound(`account ${id} does not exist`);
    }
    return canonicalJson(account);
  }

  /** Auditors and the account's own organization: every version of the account with tx id and time. */
  @Transaction(false)
  @Param('accountId', 'string', 'account id (acct-… or grid:<MSP>)')
  @Returns('string')
  async GetAccountHistory(ctx: HemsContext, accountId: string): Promise<string> {
    const caller = await ctx.requireMember('GetAccountHistory');
    const id = parseAccountId(accountId);
    const account = await loadAccount(ctx, id);
    if (account === undefined) {
      throw notFound(`account ${id} does not exist`);
    }
    if (account.mspId !== caller.mspId && !(await ctx.isAuditor(caller))) {
      throw forbidden("GetAccountHistory is for auditors and the account's own organization");
    }
    const entries = (await drain(ctx.stub.getHistoryForKey(ctx.keys.account(id)))).map((modification) => {
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
    return canonicalJson({ accountId: id, mspId: account.mspId, entries });
  }

  /**
   * Relay, on its utility's peer (evaluate): the account of the device whose certificate is in
   * transient field `certificate` (a zero account when it never held tokens).
   */
  @Transaction(false)
  @Returns('string')
  async GetMyAccount(ctx: HemsContext): Promise<string> {
    const caller = await ctx.requireUtilityRoleOnOwnPeer('GetMyAccount', ['relay']);
    const org = caller.mspId;
    const pem = Buffer.from(requireTransient(ctx, 'certificate', MAX_CERTIFICATE_PEM_BYTES)).toString('utf8');
    const device = await verifyDevice(ctx, org, pem);
    const accountId = accountIdOf(await loadHomeRefSecret(ctx, org), device.homeId);
    return canonicalJson((await loadAccount(ctx, accountId)) ?? emptyAccount(accountId, org));
  }

  /**
   * Utility admin or relay, on its utility's peer (evaluate; the id needs the utility's secret):
   * the account id of the home in transient field `homeId`, and whether the account exists.
   */
  @Transaction(false)
  @Returns('string')
  async GetAccountId(ctx: HemsContext): Promise<string> {
    const caller = await ctx.requireUtilityRoleOnOwnPeer('GetAccountId', ['admin', 'relay']);
    const org = caller.mspId;
    const homeId = parseHomeId(
      Buffer.from(requireTransient(ctx, 'homeId', MAX_HOME_ID_BYTES)).toString('utf8'),
      'transient homeId',
    );
    const accountId = accountIdOf(await loadHomeRefSecret(ctx, org), homeId);
    const account = await loadAccount(ctx, accountId);
    if (account !== undefined && account.mspId !== org) {
      throw failedPrecondition(`account ${accountId} is held by another organization`);
    }
    return canonicalJson({ accountId, mspId: org, exists: account !== undefined });
  }
}
