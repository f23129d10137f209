import { ACCOUNT_ID_PATTERN } from '@hems/protocol';
import { resourceRoutes } from '../../http/routes';
import { closedObject, homeId, idParams, openObject, publicObject, text } from '../common/schemas';
import { MAX_DEPOSIT } from '../common/units';

export const accountIdParams = idParams('accountId', { type: 'string', pattern: ACCOUNT_ID_PATTERN });

const route = resourceRoutes('accounts');

export const account = {
  ...openObject(
    {
      accountId: text,
      mspId: text,
      balance: text,
      escrowed: text,
      escrows: { type: 'object', additionalProperties: text },
    },
    'accountId',
    'balance',
  ),
  description:
    '{accountId, mspId, balance, escrowed, escrows: {windowId: amount}, updatedAt, txId, lastEntries}; ' +
    'amounts in value units of 1e-10 currency',
};

export const myAccountRoute = route(
  "HEMS device: its own account and balance (the utility's relay looks it up)",
  { roles: ['hems'], response: { 200: account } },
);

export const accountRoute = route(
  "Auditors, or admins of the account's org: an account's balance and escrow",
  { roles: ['auditor', 'admin'], params: accountIdParams, response: { 200: account } },
);

export const accountHistoryRoute = route(
  "Auditors, or admins of the account's org at its gateway: every entry of the account",
  { roles: ['auditor', 'admin'], params: accountIdParams, response: { 200: publicObject } },
);

export const openAccountBody = closedObject({ homeId }, 'homeId');

export const openAccountRoute = route(
  "Utility admin: open a home's account with a zero balance (a prosumer needs one before its first offer)",
  { roles: ['admin'], body: openAccountBody, response: { 201: account } },
);

export const depositBody = closedObject(
  {
    homeId,
    amount: {
      anyOf: [{ type: 'number' }, { type: 'string', maxLength: 32 }],
      description: `Currency, > 0, at most 4 decimals, at most ${MAX_DEPOSIT} (a number or a decimal string)`,
    },
  },
  'homeId',
  'amount',
);

export const depositRoute = route(
  "Utility admin: deposit tokens into a home's account (created on first deposit)",
  { roles: ['admin'], body: depositBody, response: { 201: account } },
);

const valueUnits = { type: 'string', description: 'Value units (1e-10 currency), decimal integer' } as const;

/** What ReconcileTokens answers. */
export const reconciliation = {
  ...openObject(
    {
      reconciled: {
        type: 'boolean',
        description: 'Every difference is 0, no pool is negative, every record parsed',
      },
      utilities: {
        type: 'array',
        items: openObject({
          org: text,
          issued: valueUnits,
          charged: valueUnits,
          paid: valueUnits,
          expected: valueUnits,
          held: valueUnits,
          difference: { ...valueUnits, description: 'held − (issued − charged + paid); may be negative' },
        }),
      },
      grid: {
        type: 'array',
        items: openObject({ org: text, gridShares: valueUnits, held: valueUnits, difference: text }),
      },
      pools: valueUnits,
      unreadable: publicObject,
    },
    'reconciled',
    'utilities',
    'grid',
    'pools',
  ),
  description:
    "Each utility's accounts against its issued total (majority-written at each deposit) and what its window parts say its homes paid and received",
};

export const reconciliationRoute = route(
  'Auditors and operators: reconcile the token ledger (every account, window part and grid share)',
  { roles: ['auditor', 'admin', 'market', 'dso'], response: { 200: reconciliation } },
);
