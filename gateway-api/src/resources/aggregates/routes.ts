import { routes, type RoutesPlugin } from '../../http/routes';
import type { Ledger } from '../../ledger/ports';
import type { AggregationFanOut } from '../../services/utility-gateways';
import { publishOwnAggregates, requireOwnPublication, slotAggregates } from './service';
import { publishAggregatesRoute, slotAggregatesRoute } from './schemas';

/** A slot's per-bus sums: read by the DSO and auditors, published by each utility's gateway. */
export function aggregateRoutes(ledger: Ledger, fanOut?: AggregationFanOut): RoutesPlugin {
  return routes((app) => {
    app.get('/v1/slots/:slotId/aggregates', slotAggregatesRoute, async (request) =>
      slotAggregates(ledger, request.params.slotId),
    );

    app.post('/v1/slots/:slotId/aggregates', publishAggregatesRoute, async (request) => {
      // The DSO's own gateway holds no utility identity: it asks every utility gateway.
      if (!ledger.identities.includes('relay') && fanOut !== undefined && request.caller.role === 'dso') {
        return { slotId: request.params.slotId, utilities: await fanOut(request.params.slotId) };
      }
      requireOwnPublication(ledger, request, 'aggregation');
      return publishOwnAggregates(ledger, request.params.slotId);
    });
  });
}
