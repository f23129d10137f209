import type { FastifyInstance, FastifyRequest } from 'fastify';
import { HttpError } from '../http/errors';
import { MajorityEndorsers } from '../ledger/endorsement';
import type { Ledger } from '../ledger/ports';
import {
  certificateTransient,
  decodeJson,
  homeId,
  publicObject,
  readerIdentity,
  requireOwnDevice,
  requireOwnOperator,
} from './common';
import { currencyAmount, MAX_DEPOSIT } from './units';

/** Pseudonymous home accounts (`acct-` + 32 hex) and the market operators' grid accounts. */
export const ACCOUNT_ID_PATTERN = '^(acct-[0-9a-f]{32}|grid:[A-Za-z0-9][A-Za-z0-9._-]{0,63})$';

/** A home account id; GetAccountId never answers a grid account. */
const HOME_ACCOUNT_ID = /^acct-[0-9a-f]{32}$/;

const accountIdParams = {
  type: 'object',
  required: ['accountId'],
  additionalProperties: false,
  properties: { accountId: { type: 'string', pattern: ACCOUNT_ID_PATTERN } },
} as const;

const account = {
  type: 'object',
  required: ['accountId', 'balance'],
  additionalProperties: true,
  description:
    '{accountId, mspId, balance, escrowed, escrows: {windowId: amount}, updatedAt, txId, lastEntries}; ' +
    'amounts in value units of 1e-10 currency',
  properties: {
    accountId: { type: 'string' },
    mspId: { type: 'string' },
    balance: { type: 'string' },
    escrowed: { type: 'string' },
    escrows: { type: 'object', additionalProperties: { type: 'string' } },
  },
} as const;

const depositBody = {
  type: 'object',
  required: ['homeId', 'amount'],
  additionalProperties: false,
  properties: {
    homeId,
    amount: {
      anyOf: [{ type: 'number' }, { type: 'string', maxLength: 32 }],
      description: `Currency, > 0, at most 4 decimals, at most ${MAX_DEPOSIT} (a number or a decimal string)`,
    },
  },
} as const;

const openAccountBody = {
  type: 'object',
  required: ['homeId'],
  additionalProperties: false,
  properties: { homeId },
} as const;

/** GetAccountId's answer: the home's pseudonymous id and whether its account exists. */
interface AccountIdAnswer {
  readonly accountId: string;
  readonly exists: boolean;
}

/**
 * The home's account id, computed by the chaincode with the utility's secret on the utility's own
 * peer (evaluate): the home id travels only in transient data to that peer.
 */
async function accountIdOf(ledger: Ledger, home: string): Promise<AccountIdAnswer> {
  const answer = decodeJson<Partial<AccountIdAnswer> | null>(
    await ledger.contract('admin', 'token').evaluate('GetAccountId', {
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

interface AccountRecord {
  readonly accountId: string;
  readonly mspId?: string;
  readonly balance?: unknown;
}

async function loadAccount(ledger: Ledger, accountId: string): Promise<AccountRecord> {
  return decodeJson<AccountRecord>(
    await ledger.contract(readerIdentity(ledger), 'token').evaluate('GetAccount', { arguments: [accountId] }),
  );
}

/** Auditors see every account; an admin sees the accounts of its own org only. */
function requireAccountReader(request: FastifyRequest, record: AccountRecord): void {
  const caller = request.caller;
  if (caller.role !== 'auditor' && record.mspId !== caller.mspId) {
    throw new HttpError(403, 'FORBIDDEN', "an account is shown to auditors and to its own org's admins only");
  }
}

/**
 * Token accounts of the auction: a device reads its own, auditors and the account's org read any
 * of theirs with its history, and a utility admin opens accounts and deposits for its customers
 * (the home id only in transient data to its own peer, which answers the pseudonymous account id).
 */
export function accountRoutes(ledger: Ledger) {
  const endorsers = new MajorityEndorsers(ledger);
  return (app: FastifyInstance, _options: unknown, done: (error?: Error) => void): void => {
    app.get(
      '/v1/accounts/me',
      {
        config: { roles: ['hems'] },
        schema: {
          tags: ['accounts'],
          summary: "HEMS device: its own account and balance (the utility's relay looks it up)",
          response: { 200: account },
        },
      },
      async (request) => {
        requireOwnDevice(ledger, request);
        const mine = decodeJson<AccountRecord>(
          await ledger.contract('relay', 'token').evaluate('GetMyAccount', {
            transientData: { certificate: certificateTransient(request) },
            // The account id needs the utility's secret: only its own peer can compute it.
            endorsingOrganizations: [ledger.mspId],
          }),
        );
        if (typeof mine?.accountId !== 'string') {
          throw new HttpError(502, 'BAD_LEDGER_RESPONSE', 'GetMyAccount did not answer an account id');
        }
        // GetMyAccount may answer the whole record or only the id; the balance is public either way.
        return typeof mine.balance === 'string' ? mine : loadAccount(ledger, mine.accountId);
      },
    );

    app.get<{ Params: { accountId: string } }>(
      '/v1/accounts/:accountId',
      {
        config: { roles: ['auditor', 'admin'] },
        schema: {
          tags: ['accounts'],
          summary: "Auditors, or admins of the account's org: an account's balance and escrow",
          params: accountIdParams,
          response: { 200: account },
        },
      },
      async (request) => {
        const record = await loadAccount(ledger, request.params.accountId);
        requireAccountReader(request, record);
        return record;
      },
    );

    app.get<{ Params: { accountId: string } }>(
      '/v1/accounts/:accountId/history',
      {
        config: { roles: ['auditor', 'admin'] },
        schema: {
          tags: ['accounts'],
          summary: "Auditors, or admins of the account's org at its gateway: every entry of the account",
          params: accountIdParams,
          response: { 200: publicObject },
        },
      },
      async (request) => {
        // The chaincode shows a history to auditors and to the account's own org: an admin's
        // request must be made by its own org's gateway identity.
        if (request.caller.role === 'admin' && request.caller.mspId !== ledger.mspId) {
          throw new HttpError(
            403,
            'FORBIDDEN',
            `account histories on this gateway are for admins of ${ledger.mspId}`,
          );
        }
        requireAccountReader(request, await loadAccount(ledger, request.params.accountId));
        return decodeJson(
          await ledger
            .contract(readerIdentity(ledger), 'token')
            .evaluate('GetAccountHistory', { arguments: [request.params.accountId] }),
        );
      },
    );

    app.post<{ Body: { homeId: string } }>(
      '/v1/accounts',
      {
        config: { roles: ['admin'] },
        schema: {
          tags: ['accounts'],
          summary:
            "Utility admin: open a home's account with a zero balance (a prosumer needs one before its first offer)",
          body: openAccountBody,
          response: { 201: account },
        },
      },
      async (request, reply) => {
        requireOwnOperator(ledger, request, 'admin', 'opening an account');
        const { accountId, exists } = await accountIdOf(ledger, request.body.homeId);
        if (exists) {
          // Deposit("0") on an existing account is refused by the chaincode too; saying so here
          // spares a majority-endorsed proposal. The answer names the pseudonymous id only.
          throw new HttpError(409, 'CONFLICT', `the home already has account ${accountId}`);
        }
        const submitted = await ledger.contract('admin', 'token').submit('Deposit', {
          arguments: [accountId, '0'],
          endorsingOrganizations: await endorsers.withOwnOrg(),
        });
        void reply
          .status(201)
          .header('x-transaction-id', submitted.transactionId)
          .header('location', `/v1/accounts/${accountId}`);
        return decodeJson(submitted.result);
      },
    );

    app.post<{ Body: { homeId: string; amount: number | string } }>(
      '/v1/accounts/deposits',
      {
        config: { roles: ['admin'] },
        schema: {
          tags: ['accounts'],
          summary: "Utility admin: deposit tokens into a home's account (created on first deposit)",
          body: depositBody,
          response: { 201: account },
        },
      },
      async (request, reply) => {
        requireOwnOperator(ledger, request, 'admin', 'depositing tokens');
        const amount = currencyAmount(request.body.amount, 'amount', MAX_DEPOSIT);
        const { accountId } = await accountIdOf(ledger, request.body.homeId);
        // No transient data: Deposit reads no private state, so it is endorsed by a majority,
        // with the utility's own peer among them for the account's key-level policy.
        const submitted = await ledger.contract('admin', 'token').submit('Deposit', {
          arguments: [accountId, amount],
          endorsingOrganizations: await endorsers.withOwnOrg(),
        });
        void reply.status(201).header('x-transaction-id', submitted.transactionId);
        return decodeJson(submitted.result);
      },
    );

    done();
  };
}
