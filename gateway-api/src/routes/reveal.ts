import type { FastifyInstance } from 'fastify';
import { MAX_RELEASE_ACCOUNTS } from '@hems/protocol';
import { HttpError } from '../http/errors';
import type { Ledger } from '../ledger/ports';
import { decodeJson, listBodyLimit, requireIdentity, windowIdParams, type WindowIdParams } from './common';

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
  const relay = ledger.contract('relay', 'auction');
  const refs = orderRefsOf(
    decodeJson(
      await relay.evaluate('ListOrderRefs', {
        arguments: [windowId],
        endorsingOrganizations: [ledger.mspId],
      }),
    ),
  );
  const submitted = await relay.submit('RevealOrders', {
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
  const submitted = await ledger.contract('relay', 'auction').submit('ReleaseEscrow', {
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

/** The body limit of a release with the most accounts the chaincode takes (acct- + 32 hex each). */
export const RELEASE_BODY_LIMIT = listBodyLimit(`acct-${'f'.repeat(32)}`, MAX_RELEASE_ACCOUNTS);

const releaseBody = {
  type: ['object', 'null'],
  additionalProperties: false,
  properties: {
    accounts: {
      type: 'array',
      maxItems: MAX_RELEASE_ACCOUNTS,
      uniqueItems: true,
      description:
        "Accounts of this utility whose order in the window was not revealed: each one's escrow is refunded in full",
      items: { type: 'string', pattern: '^acct-[0-9a-f]{32}$' },
    },
  },
} as const;

/**
 * POST /v1/windows/:windowId/reveal and /escrow-release on a utility gateway (its schedulers do
 * both on their own: the reveal at the close, the release after the clearing).
 */
export function revealRoutes(ledger: Ledger) {
  return (app: FastifyInstance, _options: unknown, done: (error?: Error) => void): void => {
    app.post<{ Params: WindowIdParams }>(
      '/v1/windows/:windowId/reveal',
      {
        config: { roles: ['admin', 'relay'] },
        schema: {
          tags: ['windows'],
          summary:
            'Utility: make its orders of a closed window public (once; the gateway does it at the close)',
          params: windowIdParams,
          response: {
            200: {
              type: 'object',
              required: ['windowId', 'org', 'orders', 'txId'],
              properties: {
                windowId: { type: 'string' },
                org: { type: 'string' },
                orders: { type: 'integer' },
                txId: { type: 'string' },
              },
            },
          },
        },
      },
      async (request, reply) => {
        requireIdentity(ledger, 'relay', "revealing a utility's orders");
        if (request.caller.mspId !== ledger.mspId) {
          throw new HttpError(403, 'FORBIDDEN', `only ${ledger.mspId} itself reveals its orders`);
        }
        const revealed = await revealOwnOrders(ledger, request.params.windowId);
        void reply.header('x-transaction-id', revealed.txId);
        return revealed;
      },
    );

    app.post<{ Params: WindowIdParams; Body: { accounts?: string[] } | null }>(
      '/v1/windows/:windowId/escrow-release',
      {
        config: { roles: ['admin'] },
        bodyLimit: RELEASE_BODY_LIMIT,
        schema: {
          tags: ['windows'],
          summary:
            "Utility admin: release its org's escrows of a cleared window (the gateway does it after the clearing); " +
            'with accounts, refund escrows of orders that were not revealed',
          params: windowIdParams,
          body: releaseBody,
          response: {
            200: {
              type: 'object',
              required: ['windowId', 'org', 'refunded', 'unrevealedAccounts', 'txId'],
              properties: {
                windowId: { type: 'string' },
                org: { type: 'string' },
                refunded: { type: 'string', description: 'Value units refunded by this call' },
                unrevealedAccounts: { type: 'integer' },
                txId: { type: 'string' },
              },
            },
          },
        },
      },
      async (request, reply) => {
        requireIdentity(ledger, 'relay', "releasing a utility's escrows");
        if (request.caller.mspId !== ledger.mspId) {
          throw new HttpError(403, 'FORBIDDEN', `only ${ledger.mspId} itself releases its escrows`);
        }
        const released = await releaseOwnEscrow(
          ledger,
          request.params.windowId,
          request.body?.accounts ?? [],
        );
        void reply.header('x-transaction-id', released.txId);
        return released;
      },
    );
    done();
  };
}
