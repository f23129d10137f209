import { Info, Param, Returns, Transaction } from 'fabric-contract-api';
import { canonicalJson, forbidden, parseSlotId } from '@hems/protocol';
import { HemsContext } from '../lib/context';
import { HemsContract } from '../lib/contract';
import { fundDrPool } from './pool';
import { mintForProduction } from './production';
import { reconcileTokens } from './reconciliation';
import {
  accountHistory,
  deposit,
  deviceAccount,
  existingAccount,
  homeAccountId,
  parseAccountId,
} from './accounts';

/**
 * The token ledger of the energy auction: pseudonymous accounts (`acct-` + an HMAC of the home id
 * under its utility's secret) with a balance and the escrows held for bids. Tokens enter by a
 * utility's deposit and move only through the auction (escrow, refund, charge, payment, grid
 * share): there is no transfer between accounts.
 */
@Info({ title: 'TokenContract', description: 'Pseudonymous token accounts of the energy auction' })
export class TokenContract extends HemsContract {
  constructor() {
    super('token');
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
    return canonicalJson(await deposit(ctx, caller.mspId, parseAccountId(accountId), amount));
  }

  /** Any member: an account's public record. */
  @Transaction(false)
  @Param('accountId', 'string', 'account id (acct-… or grid:<MSP>)')
  @Returns('string')
  async GetAccount(ctx: HemsContext, accountId: string): Promise<string> {
    await ctx.requireMember('GetAccount');
    return canonicalJson(await existingAccount(ctx, parseAccountId(accountId)));
  }

  /** Auditors and the account's own organization: every version of the account with tx id and time. */
  @Transaction(false)
  @Param('accountId', 'string', 'account id (acct-… or grid:<MSP>)')
  @Returns('string')
  async GetAccountHistory(ctx: HemsContext, accountId: string): Promise<string> {
    const caller = await ctx.requireMember('GetAccountHistory');
    const id = parseAccountId(accountId);
    const account = await existingAccount(ctx, id);
    if (account.mspId !== caller.mspId && !(await ctx.isAuditor(caller))) {
      throw forbidden("GetAccountHistory is for auditors and the account's own organization");
    }
    return canonicalJson({ accountId: id, mspId: account.mspId, entries: await accountHistory(ctx, id) });
  }

  /**
   * Relay, on its utility's peer (evaluate): the account of the device whose certificate is in
   * transient field `certificate` (a zero account when it never held tokens).
   */
  @Transaction(false)
  @Returns('string')
  async GetMyAccount(ctx: HemsContext): Promise<string> {
    const caller = await ctx.requireUtilityRoleOnOwnPeer('GetMyAccount', ['relay']);
    return canonicalJson(await deviceAccount(ctx, caller.mspId));
  }

  /**
   * Utility admin or relay, on its utility's peer (evaluate; the id needs the utility's secret):
   * the account id of the home in transient field `homeId`, and whether the account exists.
   */
  @Transaction(false)
  @Returns('string')
  async GetAccountId(ctx: HemsContext): Promise<string> {
    const caller = await ctx.requireUtilityRoleOnOwnPeer('GetAccountId', ['admin', 'relay']);
    return canonicalJson(await homeAccountId(ctx, caller.mspId));
  }

  /**
   * Any member (an auditor's check): reconciles every utility's accounts with its issued total
   * (majority-written at each deposit) and what its window parts say its homes paid and received,
   * every grid account with the grid shares claimed, and the windows' pools. Answers per-utility
   * and per-grid differences (0 when everything is accounted for) and `reconciled`.
   */
  @Transaction(false)
  @Returns('string')
  async ReconcileTokens(ctx: HemsContext): Promise<string> {
    await ctx.requireMember('ReconcileTokens');
    return canonicalJson(await reconcileTokens(ctx));
  }

  /**
   * DSO: funds its demand-response pool (`pool:<DSO MSP>`) with `amount` (currency), out of which
   * DeclareEvent allots each event's budget. Majority-endorsed, recorded as issued by the DSO.
   */
  @Transaction()
  @Param('amount', 'string', 'currency amount, e.g. "500"')
  @Returns('string')
  async FundDrPool(ctx: HemsContext, amount: string): Promise<string> {
    const caller = await ctx.requireDso('FundDrPool');
    return canonicalJson(await fundDrPool(ctx, caller.mspId, amount));
  }

  /**
   * Production-backed tokens (REScoin): the utility's meter head-end, on its own peer, mints for
   * its homes' metered exports in a dispatched, not settled slot. Transient `exports` = JSON
   * [{homeId, exportWh}] (whole Wh, at most 1,000 items); each home's account (it must exist) gets
   * exportWh × the slot's productionTokenRate, once per slot. A bad item is refused alone, by
   * position. Endorsed by that peer alone: it changes only the home accounts and the utility's
   * production record of the slot, both under policies naming that peer. The answer, written into
   * the block, holds counts, the minted total and refusals — never a home or an export.
   */
  @Transaction()
  @Param('slotId', 'string', 'slot identifier; the exports are in transient data')
  @Returns('string')
  async MintForProduction(ctx: HemsContext, slotId: string): Promise<string> {
    const caller = await ctx.requireUtilityRoleOnOwnPeer('MintForProduction', ['meter']);
    return canonicalJson(await mintForProduction(ctx, caller.mspId, parseSlotId(slotId)));
  }
}
