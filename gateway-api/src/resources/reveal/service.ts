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

/** What ListOrderRefs answers: the order references and the commitment to them. */
interface ListedOrders {
  readonly refs: string[];
  readonly count: number;
  readonly digest: string;
}

function listedOrdersOf(answer: unknown): ListedOrders {
  const listed = answer as { refs?: unknown; count?: unknown; digest?: unknown } | null;
  const refs = listed?.refs;
  if (
    !Array.isArray(refs) ||
    !refs.every((ref): ref is string => typeof ref === 'string') ||
    typeof listed?.count !== 'number' ||
    typeof listed.digest !== 'string'
  ) {
    throw new HttpError(
      502,
      'BAD_LEDGER_RESPONSE',
      'ListOrderRefs did not answer a list of order references with their commitment',
    );
  }
  return { refs, count: listed.count, digest: listed.digest };
}

/** ListOrderRefs on the utility's own peer (a private range: evaluate only). */
async function listOwnOrders(ledger: Ledger, windowId: string): Promise<ListedOrders> {
  return listedOrdersOf(
    decodeJson(
      await auction(ledger, 'relay').ListOrderRefs.evaluate({
        arguments: [windowId],
        endorsingOrganizations: [ledger.mspId],
      }),
    ),
  );
}

export interface CommitResult {
  readonly windowId: string;
  readonly org: string;
  /** Orders of this org the commitment covers. */
  readonly orders: number;
  readonly digest: string;
  readonly txId: string;
}

/**
 * Commits this utility to its sealed orders of an open window before the close: the commitment
 * from ListOrderRefs on its own peer, fixed by CommitOrders under the chaincode's majority policy
 * (no endorsing organizations: the gateway plans it). From the first commitment on the chaincode
 * refuses the utility's further orders, so a listing made after it is final: if an order
 * committed while the commitment was on its way, the utility commits once more.
 */
export async function commitOwnOrders(ledger: Ledger, windowId: string): Promise<CommitResult> {
  let listed = await listOwnOrders(ledger, windowId);
  for (let attempt = 0; ; attempt += 1) {
    const submitted = await auction(ledger, 'relay').CommitOrders.submit({
      arguments: [windowId, String(listed.count), listed.digest],
    });
    const final = await listOwnOrders(ledger, windowId);
    if (final.digest === listed.digest || attempt >= 2) {
      return {
        windowId,
        org: ledger.mspId,
        orders: listed.count,
        digest: listed.digest,
        txId: submitted.transactionId,
      };
    }
    listed = final;
  }
}

/**
 * Reveals this utility's orders of a closed window: the read-only ListOrderRefs on its own peer
 * (Fabric refuses writes after a private range query), then RevealOrders with the references in
 * transient data, which point-reads each one so every order is under MVCC validation. An org
 * without orders reveals an empty list: the clearing waits for every utility.
 */
export async function revealOwnOrders(ledger: Ledger, windowId: string): Promise<RevealResult> {
  const { refs } = await listOwnOrders(ledger, windowId);
  const submitted = await auction(ledger, 'relay').RevealOrders.submit({
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
