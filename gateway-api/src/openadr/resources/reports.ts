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

const ON_THE_LEDGER = 'a report is on the ledger once accepted; send a new report to replace a forecast';

/** A VEN's forecast and usage reports; business logic's per-bus aggregates. */
export function reportRoutes(app: FastifyInstance, context: VersionContext): void {
  const { version, service } = context;
  app.get('/reports', { schema: { querystring: context.schemas.searchReportsQuery } }, async (request) => {
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
  });
  app.get('/reports/:reportID', { schema: { params: schemas.common.reportIdParams } }, async (request) =>
    service.report(version, clientOf(request), (request.params as { reportID: string }).reportID),
  );
  app.post('/reports', { schema: { body: context.schemas.reportRequest } }, async (request, reply) => {
    const client = clientOf(request);
    requireScope(client, 'write_reports');
    return reply.code(201).send(await service.createReport(version, client, request.body as Json));
  });
  app.put('/reports/:reportID', refused(ON_THE_LEDGER));
  app.delete('/reports/:reportID', refused(ON_THE_LEDGER));
}
