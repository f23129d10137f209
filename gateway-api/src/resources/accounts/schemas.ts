import { ACCOUNT_ID_PATTERN } from '@hems/protocol';
import { homeId, publicObject } from '../common/schemas';
import { MAX_DEPOSIT } from '../common/units';

export const accountIdParams = {
  type: 'object',
  required: ['accountId'],
  additionalProperties: false,
  properties: { accountId: { type: 'string', pattern: ACCOUNT_ID_PATTERN } },
} as const;

export const account = {
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

export const depositBody = {
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

export const openAccountBody = {
  type: 'object',
  required: ['homeId'],
  additionalProperties: false,
  properties: { homeId },
} as const;

export const myAccountRoute = {
  tags: ['accounts'],
  summary: "HEMS device: its own account and balance (the utility's relay looks it up)",
  response: { 200: account },
} as const;

export const accountRoute = {
  tags: ['accounts'],
  summary: "Auditors, or admins of the account's org: an account's balance and escrow",
  params: accountIdParams,
  response: { 200: account },
} as const;

export const accountHistoryRoute = {
  tags: ['accounts'],
  summary: "Auditors, or admins of the account's org at its gateway: every entry of the account",
  params: accountIdParams,
  response: { 200: publicObject },
} as const;

export const openAccountRoute = {
  tags: ['accounts'],
  summary:
    "Utility admin: open a home's account with a zero balance (a prosumer needs one before its first offer)",
  body: openAccountBody,
  response: { 201: account },
} as const;

export const depositRoute = {
  tags: ['accounts'],
  summary: "Utility admin: deposit tokens into a home's account (created on first deposit)",
  body: depositBody,
  response: { 201: account },
} as const;
