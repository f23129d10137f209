import { HOME_REF_PATTERN, MSP_ID_PATTERN, TRANSACTION_ID_PATTERN } from '@hems/protocol';
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

export const proofBody = closedObject(
  {
    org: { type: 'string', pattern: MSP_ID_PATTERN, description: "The home's utility MSP id" },
    slotId,
    homeRef: { type: 'string', pattern: HOME_REF_PATTERN },
    revealed: revealedForecast,
  },
  'org',
  'slotId',
  'homeRef',
  'revealed',
);

export const forecastProofRoute = route(
  "Check a home's revealed forecast against the ledger's private-data hash",
  { roles: ['auditor', 'hems'], body: proofBody, response: { 200: anyObject } },
);
