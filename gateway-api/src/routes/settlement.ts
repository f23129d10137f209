import type { FastifyInstance } from 'fastify';
import { HttpError } from '../http/errors';
import type { Ledger } from '../ledger/ports';
import { decodeJson, publicObject, requireIdentity, windowIdParams, type WindowIdParams } from './common';

/**
 * POST /v1/windows/:windowId/settlement: a utility settles its own accounts of the window on its
 * own peer (sellers paid in proportion to what they delivered, out of what the buyers were charged
 * at their delivery reports); once per org, after every org with trades has reported its
 * deliveries, or after the window's reportBy without the reports still missing.
 */
export function settlementRoutes(ledger: Ledger) {
  return (app: FastifyInstance, _options: unknown, done: (error?: Error) => void): void => {
    app.post<{ Params: WindowIdParams }>(
      '/v1/windows/:windowId/settlement',
      {
        config: { roles: ['admin'] },
        schema: {
          tags: ['windows'],
          summary:
            "Utility admin: settle its org's accounts of a delivered window (once per org; after every report, " +
            'or after reportBy without the missing ones)',
          params: windowIdParams,
          response: { 200: publicObject },
        },
      },
      async (request, reply) => {
        requireIdentity(ledger, 'relay', "settling a utility's accounts");
        if (request.caller.mspId !== ledger.mspId) {
          throw new HttpError(
            403,
            'FORBIDDEN',
            `${ledger.mspId} settles its accounts through its own admins only`,
          );
        }
        const submitted = await ledger.contract('relay', 'auction').submit('SettleWindow', {
          arguments: [request.params.windowId],
          endorsingOrganizations: [ledger.mspId],
        });
        void reply.header('x-transaction-id', submitted.transactionId);
        return decodeJson(submitted.result);
      },
    );
    done();
  };
}
