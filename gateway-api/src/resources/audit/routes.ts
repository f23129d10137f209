import { HttpError } from '../../http/errors';
import { routes, type RoutesPlugin } from '../../http/routes';
import { decodeJson, readerIdentity } from '../../ledger/answers';
import { timeslot } from '../../ledger/contracts';
import type { Ledger } from '../../ledger/ports';
import { blockRoute, forecastProofRoute, slotHistoryRoute, transactionRoute } from './schemas';

/** Auditor endpoints: history, decoded transactions and blocks, proofs of submission. */
export function auditRoutes(ledger: Ledger): RoutesPlugin {
  const reader = (): ReturnType<typeof timeslot> => timeslot(ledger, readerIdentity(ledger));
  return routes((app) => {
    app.get('/v1/audit/slots/:slotId/history', slotHistoryRoute, async (request) =>
      decodeJson(await reader().GetSlotHistory.evaluate({ arguments: [request.params.slotId] })),
    );

    app.get('/v1/audit/transactions/:txId', transactionRoute, async (request) =>
      ledger.transaction(request.params.txId),
    );

    app.get('/v1/audit/blocks/:number', blockRoute, async (request) => {
      const number = Number(request.params.number);
      const height = await ledger.blockHeight();
      if (number >= height) {
        throw new HttpError(404, 'NOT_FOUND', `block ${number} does not exist yet (height ${height})`);
      }
      return ledger.block(number);
    });

    app.post('/v1/audit/proofs', forecastProofRoute, async (request) => {
      const { org, slotId: slot, batch, revealed } = request.body;
      return decodeJson(
        await reader().VerifyForecastProof.evaluate({
          arguments: [org, slot, batch],
          transientData: { revealed: Buffer.from(JSON.stringify(revealed), 'utf8') },
        }),
      );
    });
  });
}
