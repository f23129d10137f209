import type { FastifyInstance } from 'fastify';
import * as schemas from '../schemas';
import {
  clientOf,
  one,
  page,
  refused,
  requireScope,
  wanted,
  type Json,
  type PageQuery,
  type VersionContext,
} from './common';
import { documented, listOf, refusal } from './docs';

const ON_THE_LEDGER = 'a report is on the ledger once accepted; send a new report to replace a forecast';

/** A VEN's forecast and usage reports; business logic's per-bus aggregates. */
export function reportRoutes(app: FastifyInstance, context: VersionContext): void {
  const { version, service } = context;
  const v = context.schemas;
  const reportParams = schemas.common.reportIdParams;
  app.get(
    '/reports',
    {
      schema: {
        ...documented(
          'reports',
          "A VEN's own reports; business logic's per-bus aggregates",
          200,
          listOf(v.report),
        ),
        querystring: v.searchReportsQuery,
      },
    },
    async (request) => {
      const query = request.query as Json & PageQuery;
      const eventID = one(query.eventID);
      const clientName = one(query.clientName);
      const programID = one(query.programID);
      const reports = (await service.reportsOf(version, clientOf(request), wanted(query))).filter(
        (report) =>
          (eventID === undefined || report.eventID === eventID) &&
          (clientName === undefined || report.clientName === clientName) &&
          (programID === undefined || report.programID === undefined || report.programID === programID),
      );
      return page(reports, query);
    },
  );
  app.get(
    '/reports/:reportID',
    {
      schema: {
        ...documented('reports', 'One report the caller may read', 200, v.report),
        params: reportParams,
      },
    },
    async (request) =>
      service.report(version, clientOf(request), (request.params as { reportID: string }).reportID),
  );
  app.post(
    '/reports',
    {
      schema: {
        ...documented(
          'reports',
          "A VEN's USAGE_FORECAST (its forecast range) or USAGE (its draw) for a slot",
          201,
          v.report,
        ),
        body: v.reportRequest,
      },
    },
    async (request, reply) => {
      const client = clientOf(request);
      requireScope(client, 'write_reports');
      return reply.code(201).send(await service.createReport(version, client, request.body as Json));
    },
  );
  const final = {
    schema: { ...refusal('reports', 'Refused: an accepted report is on the ledger'), params: reportParams },
  };
  app.put('/reports/:reportID', final, refused(ON_THE_LEDGER));
  app.delete('/reports/:reportID', final, refused(ON_THE_LEDGER));
}
