import { isAccountId, parseStoredJson, requireObject, unitsFromStored } from '@hems/protocol';
import type { HemsContext } from '../lib/context';
import { KeyType } from '../lib/keys';
import { drain } from '../lib/state';
import { windowFromBytes } from '../auction/window';
import { drTokenFlows } from '../dr/token-flows';
import { issuedBy } from './issuance';
import { mintedFor } from './production';
import { accountFromBytes } from './token-ledger';

/**
 * Reconciles the token ledger with what only the majority can write. For each utility U:
 *
 *   expected(U) = issued(U) − Σ charged(U) + Σ paid(U) + Σ rewards(U) + Σ minted(U)
 *
 * (its deposits, minus what its buyers paid into windows' pools, plus what its sellers were paid
 * out of them, the demand-response rewards its allotments say it paid and the production tokens
 * its production records say it minted; issued(U) = Σ of its majority-written issue records),
 * against held(U) = Σ balance + escrowed over U's accounts. For each DSO's demand-response pool:
 * what it funded less the budgets of its events. For each grid account:
 * its balance against the grid shares its DSO claimed. A utility that rewrote a balance, or whose
 * part of a window misstates what moved, shows a difference; so does a pool that went negative.
 * Values are value units as decimal strings; records that do not parse are counted, not trusted.
 * One evaluation reads every account and window part: an auditor's step, not a hot path.
 */

export interface UtilityReconciliation {
  readonly org: string;
  readonly issued: string;
  /** Minted for its homes' exports (its production records; one not trusted counts as an unreadable issue). */
  readonly minted: string;
  readonly charged: string;
  readonly paid: string;
  readonly expected: string;
  readonly held: string;
  /** held − expected: positive when the utility's accounts hold tokens no record accounts for. */
  readonly difference: string;
}

export interface GridReconciliation {
  readonly org: string;
  readonly gridShares: string;
  readonly held: string;
  readonly difference: string;
}

/** The DSO's demand-response pool: what it funded, less the budgets its events took out. */
export interface DrPoolReconciliation {
  readonly org: string;
  readonly funded: string;
  readonly allotted: string;
  readonly held: string;
  readonly difference: string;
}

export interface TokenReconciliation {
  readonly reconciled: boolean;
  readonly utilities: readonly UtilityReconciliation[];
  readonly grid: readonly GridReconciliation[];
  readonly drPools: readonly DrPoolReconciliation[];
  /** Σ over windows of charged − paid − grid share: tokens held by pools. */
  readonly pools: string;
  readonly unreadable: {
    readonly accounts: number;
    readonly parts: number;
    readonly windows: number;
    readonly issues: number;
    readonly dr: number;
  };
}

function add(map: Map<string, bigint>, key: string, amount: bigint): void {
  map.set(key, (map.get(key) ?? 0n) + amount);
}

/**
 * Every account's holdings by owner (utility or DSO; the DSO's demand-response pool apart), and
 * how many accounts did not parse.
 */
async function holdings(
  ctx: HemsContext,
): Promise<{ held: Map<string, bigint>; pools: Map<string, bigint>; unreadable: number }> {
  const held = new Map<string, bigint>();
  const pools = new Map<string, bigint>();
  let unreadable = 0;
  for (const row of await drain(ctx.stub.getStateByPartialCompositeKey(KeyType.account, []))) {
    const accountId = ctx.stub.splitCompositeKey(row.key).attributes[0] ?? '';
    try {
      const account = accountFromBytes(row.value);
      if (account.accountId !== accountId || !isAccountId(accountId)) {
        throw new TypeError('an account record does not name its key');
      }
      add(
        accountId.startsWith('pool:') ? pools : held,
        account.mspId,
        BigInt(account.balance) + BigInt(account.escrowed),
      );
    } catch {
      unreadable += 1;
    }
  }
  return { held, pools, unreadable };
}

/** What every utility's window parts say its buyers paid in and its sellers received. */
async function windowFlows(
  ctx: HemsContext,
): Promise<{ charged: Map<string, bigint>; paid: Map<string, bigint>; unreadable: number }> {
  const charged = new Map<string, bigint>();
  const paid = new Map<string, bigint>();
  let unreadable = 0;
  for (const row of await drain(ctx.stub.getStateByPartialCompositeKey(KeyType.windowOrg, []))) {
    const [windowId, org] = ctx.stub.splitCompositeKey(row.key).attributes;
    try {
      const part = requireObject(parseStoredJson(row.value, 'window org record'), 'window org record');
      if (part.windowId !== windowId || part.org !== org || org === undefined) {
        throw new TypeError('a window part does not name its key');
      }
      add(charged, org, unitsFromStored(part.charged, 'charged'));
      add(paid, org, unitsFromStored(part.paid, 'paid'));
    } catch {
      unreadable += 1;
    }
  }
  return { charged, paid, unreadable };
}

/** The grid shares claimed, by the DSO whose grid account received them. */
async function gridShares(ctx: HemsContext): Promise<{ shares: Map<string, bigint>; unreadable: number }> {
  const shares = new Map<string, bigint>();
  let unreadable = 0;
  for (const row of await drain(ctx.stub.getStateByPartialCompositeKey(KeyType.window, []))) {
    try {
      const window = windowFromBytes(row.value);
      if (window.gridShare !== undefined) {
        add(shares, window.operatorMspId, unitsFromStored(window.gridShare, 'grid share'));
      }
    } catch {
      unreadable += 1;
    }
  }
  return { shares, unreadable };
}

export async function reconcileTokens(ctx: HemsContext): Promise<TokenReconciliation> {
  const settings = await ctx.settings();
  const { held, pools: drHeld, unreadable: accounts } = await holdings(ctx);
  const dr = await drTokenFlows(ctx);
  const { charged, paid, unreadable: parts } = await windowFlows(ctx);
  const { shares, unreadable: windows } = await gridShares(ctx);
  const utilities: UtilityReconciliation[] = [];
  let issues = 0;
  for (const org of [...settings.utilityMspIds].sort()) {
    const { issued, unreadable } = await issuedBy(ctx, org);
    const production = await mintedFor(ctx, org);
    issues += unreadable + production.unreadable;
    const expected =
      issued +
      production.minted -
      (charged.get(org) ?? 0n) +
      (paid.get(org) ?? 0n) +
      (dr.rewards.get(org) ?? 0n);
    const holds = held.get(org) ?? 0n;
    utilities.push({
      org,
      issued: issued.toString(),
      minted: production.minted.toString(),
      charged: (charged.get(org) ?? 0n).toString(),
      paid: (paid.get(org) ?? 0n).toString(),
      expected: expected.toString(),
      held: holds.toString(),
      difference: (holds - expected).toString(),
    });
  }
  const grid = [...new Set([...settings.dsoMspIds, ...shares.keys()])].sort().map((org) => {
    const share = shares.get(org) ?? 0n;
    const holds = held.get(org) ?? 0n;
    return {
      org,
      gridShares: share.toString(),
      held: holds.toString(),
      difference: (holds - share).toString(),
    };
  });
  const drPools: DrPoolReconciliation[] = [];
  for (const org of [...settings.dsoMspIds].sort()) {
    const { issued, unreadable } = await issuedBy(ctx, org);
    issues += unreadable;
    const allotted = dr.budgets.get(org) ?? 0n;
    const holds = drHeld.get(org) ?? 0n;
    drPools.push({
      org,
      funded: issued.toString(),
      allotted: allotted.toString(),
      held: holds.toString(),
      difference: (holds - (issued - allotted)).toString(),
    });
  }
  const sum = (map: Map<string, bigint>): bigint => [...map.values()].reduce((a, b) => a + b, 0n);
  const pools = sum(charged) - sum(paid) - sum(shares);
  return {
    reconciled:
      utilities.every((entry) => entry.difference === '0') &&
      grid.every((entry) => entry.difference === '0') &&
      drPools.every((entry) => entry.difference === '0') &&
      pools >= 0n &&
      accounts + parts + windows + issues + dr.unreadable === 0,
    utilities,
    grid,
    drPools,
    pools: pools.toString(),
    unreadable: { accounts, parts, windows, issues, dr: dr.unreadable },
  };
}
