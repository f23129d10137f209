import { routes, type RoutesPlugin } from '../../http/routes';
import { auction } from '../../ledger/contracts';
import type { Ledger } from '../../ledger/ports';
import { submittedAnswer } from '../common/answers';
import { requireDeviceAtHome, requireOwnOperator } from '../common/guards';
import { auditClearing, listWindows, loadWindow, openWindow, submitReportClosure } from './service';
import {
  auditClearingRoute,
  clearWindowRoute,
  gridShareRoute,
  listWindowsRoute,
  openWindowRoute,
  reportClosureRoute,
  windowRoute,
} from './schemas';

/**
 * Trading windows of the energy auction: the market operator opens and clears them and claims
 * their grid shares on its DSO gateway; everyone reads them (devices at their own utility's gateway) and may audit a clearing.
 */
export function windowRoutes(ledger: Ledger): RoutesPlugin {
  return routes((app) => {
    app.post('/v1/windows', openWindowRoute, async (request, reply) => {
      requireOwnOperator(ledger, request, 'market', 'opening a trading window');
      const submitted = await openWindow(ledger, request.body);
      void reply.header('location', `/v1/windows/${encodeURIComponent(request.body.windowId)}`);
      return submittedAnswer(reply, submitted, 201);
    });

    app.get('/v1/windows', listWindowsRoute, async (request) => {
      requireDeviceAtHome(ledger, request);
      return listWindows(ledger, request.query.pageSize, request.query.bookmark);
    });

    app.get('/v1/windows/:windowId', windowRoute, async (request) => {
      requireDeviceAtHome(ledger, request);
      return loadWindow(ledger, request.params.windowId);
    });

    app.post('/v1/windows/:windowId/clearing', clearWindowRoute, async (request, reply) => {
      requireOwnOperator(ledger, request, 'market', 'clearing a trading window');
      const submitted = await auction(ledger, 'market').ClearWindow.submit({
        arguments: [request.params.windowId],
      });
      return submittedAnswer(reply, submitted);
    });

    app.post('/v1/windows/:windowId/report-closure', reportClosureRoute, async (request, reply) => {
      requireOwnOperator(ledger, request, 'market', "closing a window's delivery reports");
      return submittedAnswer(reply, await submitReportClosure(ledger, request.params.windowId));
    });

    app.post('/v1/windows/:windowId/grid-share', gridShareRoute, async (request, reply) => {
      requireOwnOperator(ledger, request, 'market', "claiming a window's grid share");
      // Majority-endorsed (default plan): the grid account and the window key have no
      // key-level policy.
      const submitted = await auction(ledger, 'market').ClaimGridShare.submit({
        arguments: [request.params.windowId],
      });
      return submittedAnswer(reply, submitted);
    });

    app.get('/v1/windows/:windowId/audit', auditClearingRoute, async (request) => {
      requireDeviceAtHome(ledger, request);
      return auditClearing(ledger, request.params.windowId);
    });
  });
}
