import { routes, type RoutesPlugin } from '../../http/routes';
import type { Ledger } from '../../ledger/ports';
import { batchAnswer, submittedAnswer } from '../common/answers';
import { requireDeviceAtHome, requireOwnDevice, requireOwnOperator } from '../common/guards';
import {
  auditEvent,
  declareEvent,
  fundPool,
  listEvents,
  loadEvent,
  myReward,
  payRewards,
  publishRewardTotals,
} from './service';
import {
  auditEventRoute,
  declareEventRoute,
  eventRoute,
  fundPoolRoute,
  listEventsRoute,
  myRewardRoute,
  payRewardsRoute,
  publishTotalsRoute,
} from './schemas';

/**
 * Demand response: the DSO funds its pool and declares events on its gateway; a utility's admin
 * pays its homes' rewards and publishes their per-bus totals on the utility's gateway; a device
 * reads its own reward there; every member reads and audits events (devices at their own
 * utility's gateway).
 */
export function drRoutes(ledger: Ledger): RoutesPlugin {
  return routes((app) => {
    app.post('/v1/dr/pool', fundPoolRoute, async (request, reply) => {
      requireOwnOperator(ledger, request, 'dso', 'funding the demand-response pool');
      return submittedAnswer(reply, await fundPool(ledger, request.body.amount), 201);
    });

    app.post('/v1/dr/events', declareEventRoute, async (request, reply) => {
      requireOwnOperator(ledger, request, 'dso', 'declaring a demand-response event');
      const submitted = await declareEvent(ledger, request.body);
      void reply.header('location', `/v1/dr/events/${encodeURIComponent(request.body.eventId)}`);
      return submittedAnswer(reply, submitted, 201);
    });

    app.get('/v1/dr/events', listEventsRoute, async (request) => {
      requireDeviceAtHome(ledger, request);
      return listEvents(ledger, request.query.pageSize, request.query.bookmark);
    });

    app.get('/v1/dr/events/:eventId', eventRoute, async (request) => {
      requireDeviceAtHome(ledger, request);
      return loadEvent(ledger, request.params.eventId);
    });

    app.post('/v1/dr/events/:eventId/rewards', payRewardsRoute, async (request, reply) => {
      requireOwnOperator(ledger, request, 'admin', 'paying demand-response rewards');
      return batchAnswer(reply, await payRewards(ledger, request.params.eventId, request.body.homeIds));
    });

    app.post('/v1/dr/events/:eventId/totals', publishTotalsRoute, async (request, reply) => {
      requireOwnOperator(ledger, request, 'admin', 'publishing demand-response totals');
      return submittedAnswer(reply, await publishRewardTotals(ledger, request.params.eventId));
    });

    app.get('/v1/dr/events/:eventId/reward', myRewardRoute, async (request) => {
      requireOwnDevice(ledger, request);
      return myReward(ledger, request.params.eventId, request.caller);
    });

    app.get('/v1/dr/events/:eventId/audit', auditEventRoute, async (request) => {
      requireDeviceAtHome(ledger, request);
      return auditEvent(ledger, request.params.eventId);
    });
  });
}
