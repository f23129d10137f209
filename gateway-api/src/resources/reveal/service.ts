import { HttpError } from '../../http/errors';
import { decodeJson } from '../../ledger/answers';
import { auction } from '../../ledger/contracts';
import type { Ledger } from '../../ledger/ports';

export interface RevealResult {
  readonly windowId: string;
  readonly org: string;
  /** Orders of this org made public. */
  readonly orders: number;
  readonly txId: string;
}

/** The order references ListOrderRefs answered: `{refs: [...]}` of strings. */
function orderRefsOf(answer: unknown): string[] {
  const refs = (answer as { refs?: unknown } | null)?.refs;
  if (!Array.isArray(refs) || !refs.every((ref): ref is string => typeof ref === 'string')) {
    throw new HttpError(
      502,
      'BAD_LEDGER_RESPONSE',
      'ListOrderRefs did not answer a list of order references',
    );
  }
  return refs;
}

/**
 * Reveals this utility's orders of a closed window: the read-only ListOrderRefs on its own peer
 * (Fabric refuses writes after a private range query), then RevealOrders with the references in
 * transient data, which point-reads each one so every order is under MVCC validation. An org
 * without orders reveals an empty list: the clearing waits for every utility.
 */
export async function revealOwnOrders(ledger: Ledger, windowId: string): Promise<RevealResult> {
  const relay = auction(ledger, 'relay');
  const refs = orderRefsOf(
    decodeJson(
      await relay.ListOrderRefs.evaluate({
        arguments: [windowId],
        endorsingOrganizations: [ledger.mspId],
      }),
    ),
  );
  const submitted = await relay.RevealOrders.submit({
    arguments: [windowId],
    transientData: { refs: Buffer.from(JSON.stringify(refs), 'utf8') },
    endorsingOrganizations: [ledger.mspId],
  });
  return { windowId, org: ledger.mspId, orders: refs.length, txId: submitted.transactionId };
}

export interface EscrowRelease {
  readonly windowId: string;
  readonly org: string;
  /** Value units refunded by this call. */
  readonly refunded: string;
  /** Accounts of unrevealed orders refunded in full by this call. */
  readonly unrevealedAccounts: number;
  readonly txId: string;
}

/**
 * Releases this utility's escrows of a cleared window on its own peer (ReleaseEscrow): each
 * revealed bid keeps exactly the value of its trades, the rest is refunded; `accounts` (optional,
 * in transient data) are accounts of the utility whose order was not revealed, refunded in full.
 */
export async function releaseOwnEscrow(
  ledger: Ledger,
  windowId: string,
  accounts: readonly string[] = [],
): Promise<EscrowRelease> {
  const submitted = await auction(ledger, 'relay').ReleaseEscrow.submit({
    arguments: [windowId],
    ...(accounts.length === 0
      ? {}
      : { transientData: { accounts: Buffer.from(JSON.stringify(accounts), 'utf8') } }),
    endorsingOrganizations: [ledger.mspId],
  });
  const answer = decodeJson<Partial<EscrowRelease> | null>(submitted.result);
  if (typeof answer?.refunded !== 'string' || typeof answer.unrevealedAccounts !== 'number') {
    throw new HttpError(
      502,
      'BAD_LEDGER_RESPONSE',
      'ReleaseEscrow did not answer {refunded, unrevealedAccounts}',
    );
  }
  return {
    windowId,
    org: ledger.mspId,
    refunded: answer.refunded,
    unrevealedAccounts: answer.unrevealedAccounts,
    txId: submitted.transactionId,
  };
}
