import { HOME_REF_PATTERN, MSP_ID_PATTERN, TRANSACTION_ID_PATTERN } from '@hems/protocol';
import { busId, slotId, slotIdParams } from '../common/schemas';

export const anyObject = { type: 'object', additionalProperties: true } as const;

export const proofBody = {
  type: 'object',
  required: ['org', 'slotId', 'homeRef', 'revealed'],
  additionalProperties: false,
  properties: {
    org: {
      type: 'string',
      pattern: MSP_ID_PATTERN,
      description: "The home's utility MSP id",
    },
    slotId,
    homeRef: { type: 'string', pattern: HOME_REF_PATTERN },
    revealed: {
      type: 'object',
      required: ['slotId', 'bus', 'lower', 'upper', 'nonce'],
      additionalProperties: false,
      description: 'What the home reveals of its own forecast to prove its submission',
      properties: {
        slotId,
        bus: busId,
        lower: { type: 'number' },
        upper: { type: 'number' },
        nonce: { type: 'string', maxLength: 128 },
      },
    },
  },
} as const;

export const slotHistoryRoute = {
  tags: ['audit'],
  summary: "Every version of the slot's public records with transaction ids and times",
  params: slotIdParams,
  response: { 200: anyObject },
} as const;

export const transactionRoute = {
  tags: ['audit'],
  summary: 'A transaction decoded: block, time, creator MSP and role, endorsing orgs, validation code',
  params: {
    type: 'object',
    required: ['txId'],
    additionalProperties: false,
    properties: { txId: { type: 'string', pattern: TRANSACTION_ID_PATTERN } },
  },
  response: { 200: anyObject },
} as const;

export const blockRoute = {
  tags: ['audit'],
  summary: 'A block decoded: hashes and its transactions',
  params: {
    type: 'object',
    required: ['number'],
    additionalProperties: false,
    properties: { number: { type: 'string', pattern: '^(0|[1-9][0-9]{0,15})$' } },
  },
  response: { 200: anyObject },
} as const;

export const forecastProofRoute = {
  tags: ['audit'],
  summary: "Check a home's revealed forecast against the ledger's private-data hash",
  body: proofBody,
  response: { 200: anyObject },
} as const;
