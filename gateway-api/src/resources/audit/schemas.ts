import { MSP_ID_PATTERN, TRANSACTION_ID_PATTERN } from '@hems/protocol';
import { resourceRoutes } from '../../http/routes';
import { busId, closedObject, idParams, number, slotId, slotIdParams } from '../common/schemas';

export const anyObject = { type: 'object', additionalProperties: true } as const;

const route = resourceRoutes('audit');

/** Auditors, and the DSO: what the ledger holds. */
const readers = ['auditor', 'dso'] as const;

export const slotHistoryRoute = route(
  "Every version of the slot's public records with transaction ids and times",
  {
    roles: readers,
    params: slotIdParams,
    response: { 200: anyObject },
  },
);

export const transactionRoute = route(
  'A transaction decoded: block, time, creator MSP and role, endorsing orgs, validation code',
  {
    roles: readers,
    params: idParams('txId', { type: 'string', pattern: TRANSACTION_ID_PATTERN }),
    response: { 200: anyObject },
  },
);

export const blockRoute = route('A block decoded: hashes and its transactions', {
  roles: readers,
  params: idParams('number', { type: 'string', pattern: '^(0|[1-9][0-9]{0,15})$' }),
  response: { 200: anyObject },
});

/** What the home reveals of its own forecast to prove its submission. */
const revealedForecast = {
  ...closedObject(
    { slotId, bus: busId, lower: number, upper: number, nonce: { type: 'string', maxLength: 128 } },
    'slotId',
    'bus',
    'lower',
    'upper',
    'nonce',
  ),
  description: 'What the home reveals of its own forecast to prove its submission',
} as const;

/** The revealed forecast with its place in its batch: what GET /v1/slots/{id}/receipt gives a home. */
const revealedProof = {
  ...closedObject(
    {
      forecast: revealedForecast,
      index: { type: 'integer', minimum: 0, maximum: 999 },
      count: { type: 'integer', minimum: 1, maximum: 1000 },
      path: {
        type: 'array',
        maxItems: 32,
        items: { type: 'string', pattern: '^([0-9a-f]{64})?$' },
        description: 'Sibling hashes from the leaf up; empty where the node is carried up',
      },
    },
    'forecast',
    'index',
    'count',
    'path',
  ),
  description: "The home's forecast, its position in its batch, and the Merkle path to the batch's root",
} as const;

export const proofBody = closedObject(
  {
    org: { type: 'string', pattern: MSP_ID_PATTERN, description: "The home's utility MSP id" },
    slotId,
    batch: { type: 'string', pattern: TRANSACTION_ID_PATTERN, description: 'The batch holding the forecast' },
    revealed: revealedProof,
  },
  'org',
  'slotId',
  'batch',
  'revealed',
);

export const forecastProofRoute = route(
  "Check a home's revealed forecast and Merkle path against the ledger's private-data hash of its batch's root",
  { roles: ['auditor', 'hems'], body: proofBody, response: { 200: anyObject } },
);
