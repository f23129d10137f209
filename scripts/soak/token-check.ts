/**
 * The tokens after the soak, pure: the ledger's own reconciliation (GET /v1/accounts/reconciliation,
 * token:ReconcileTokens) and the soak's accounts, which must hold as many tokens as before.
 */

/** What GET /v1/accounts/reconciliation answers (the members the soak reads). */
export interface Reconciliation {
  readonly reconciled: boolean;
  readonly utilities: readonly { readonly org: string; readonly difference: string }[];
  readonly grid: readonly { readonly org: string; readonly difference: string }[];
}

export interface TokenCheck {
  readonly conserved: boolean;
  readonly reconciledBefore: boolean;
  readonly reconciledAfter: boolean;
  /** Σ balance + escrowed over the soak's accounts, value units, before and after the load. */
  readonly heldBefore: string;
  readonly heldAfter: string;
  readonly problems: readonly string[];
}

function differences(reconciliation: Reconciliation): string {
  return JSON.stringify(
    [...reconciliation.utilities, ...reconciliation.grid]
      .map((entry) => `${entry.org}:${entry.difference}`)
      .sort(),
  );
}

/**
 * (c): the ledger's reconciliation holds after the load (and held before), and the soak's own
 * accounts hold as many tokens as before: no trades cross (offers ask more than any bid), so
 * escrows only move between a home's balance and its escrow.
 */
export function verifyTokens(
  before: Reconciliation,
  after: Reconciliation,
  heldBefore: bigint,
  heldAfter: bigint,
): TokenCheck {
  const problems: string[] = [];
  for (const entry of [...after.utilities, ...after.grid]) {
    if (entry.difference !== '0') {
      problems.push(`reconciliation: ${entry.org} differs by ${entry.difference} value units`);
    }
  }
  if (!after.reconciled && problems.length === 0) {
    problems.push('reconciliation: not reconciled (a pool below zero or an unreadable record)');
  }
  if (heldBefore !== heldAfter) {
    problems.push(`the soak's accounts held ${heldBefore} value units before and ${heldAfter} after`);
  }
  // Differences that were there before the soak are the network's history, not the soak's doing.
  const unchanged = differences(before) === differences(after);
  return {
    conserved: heldBefore === heldAfter && (after.reconciled || unchanged),
    reconciledBefore: before.reconciled,
    reconciledAfter: after.reconciled,
    heldBefore: heldBefore.toString(),
    heldAfter: heldAfter.toString(),
    problems,
  };
}
