import type { FastifyInstance } from 'fastify';
import { HttpError } from '../http/errors';
import type { Ledger } from '../ledger/ports';
import { busId, decodeJson, readerIdentity, slotId, slotIdParams, type SlotIdParams } from './common';

const anyObject = { type: 'object', additionalProperties: true } as const;

const proofBody = {
  type: 'object',
  required: ['org', 'slotId', 'homeRef', 'revealed'],
  additionalProperties: false,
  properties: {
    org: {
      type: 'string',
      pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$',
      description: "The home's utility MSP id",
    },
    slotId,
    homeRef: { type: 'string', pattern: '^[0-9a-f]{64}$' },
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

/** Auditor endpoints: history, decoded transactions and blocks, proofs of submission. */
export function auditRoutes(ledger: Ledger) {
  return (app: FastifyInstance, _options: unknown, done: (error?: Error) => void): void => {
    const reader = (): ReturnType<Ledger['contract']> => ledger.contract(readerIdentity(ledger));

    app.get<{ Params: SlotIdParams }>(
      '/v1/audit/slots/:slotId/history',
      {
        config: { roles: ['auditor', 'dso'] },
        schema: {
          tags: ['audit'],
          summary: "Every version of the slot's public records with transaction ids and times",
          params: slotIdParams,
          response: { 200: anyObject },
        },
      },
      async (request) =>
        decodeJson(await reader().evaluate('GetSlotHistory', { arguments: [request.params.slotId] })),
    );

    app.get<{ Params: { txId: string } }>(
      '/v1/audit/transactions/:txId',
      {
        config: { roles: ['auditor', 'dso'] },
        schema: {
          tags: ['audit'],
          summary:
            'A transaction decoded: block, time, creator MSP and role, endorsing orgs, validation code',
          params: {
            type: 'object',
            required: ['txId'],
            additionalProperties: false,
            properties: { txId: { type: 'string', pattern: '^[0-9a-f]{64}$' } },
          },
          response: { 200: anyObject },
        },
      },
      async (request) => ledger.transaction(request.params.txId),
    );

    app.get<{ Params: { number: string } }>(
      '/v1/audit/blocks/:number',
      {
        config: { roles: ['auditor', 'dso'] },
        schema: {
          tags: ['audit'],
          summary: 'A block decoded: hashes and its transactions',
          params: {
            type: 'object',
            required: ['number'],
            additionalProperties: false,
            properties: { number: { type: 'string', pattern: '^(0|[1-9][0-9]{0,15})$' } },
          },
          response: { 200: anyObject },
        },
      },
      async (request) => {
        const number = Number(request.params.number);
        const height = await ledger.blockHeight();
        if (number >= height) {
          throw new HttpError(404, 'NOT_FOUND', `block ${number} does not exist yet (height ${height})`);
        }
        return ledger.block(number);
      },
    );

    app.post<{ Body: { org: string; slotId: string; homeRef: string; revealed: Record<string, unknown> } }>(
      '/v1/audit/proofs',
      {
        config: { roles: ['auditor', 'hems'] },
        schema: {
          tags: ['audit'],
          summary: "Check a home's revealed forecast against the ledger's private-data hash",
          body: proofBody,
          response: { 200: anyObject },
        },
      },
      async (request) => {
        const { org, slotId: slot, homeRef, revealed } = request.body;
        return decodeJson(
          await reader().evaluate('VerifyForecastProof', {
            arguments: [org, slot, homeRef],
            transientData: { revealed: Buffer.from(JSON.stringify(revealed), 'utf8') },
          }),
        );
      },
    );

    done();
  };
}
