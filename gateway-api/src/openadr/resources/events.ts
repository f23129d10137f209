import type { FastifyInstance } from 'fastify';
import { notFound } from '../problem';
import { programOf, PROGRAM_ID } from '../render';
import * as schemas from '../schemas';
import { SLOT_DURATION_MS } from '../render';
import {
  clientOf,
  matchesTargets,
  one,
  page,
  refused,
  wanted,
  type Json,
  type PageQuery,
  type VersionContext,
} from './common';

const FROM_LEDGER = 'programs and events are published by the utility from the ledger; clients read them';

/** An event whose interval has not ended. */
function isActive(event: Json, now: number): boolean {
  const start = Date.parse((event.intervalPeriod as { start?: string } | undefined)?.start ?? '');
  return Number.isNaN(start) || start + SLOT_DURATION_MS > now;
}

/** The utility's one program, and the events derived from its slots. */
export function eventRoutes(app: FastifyInstance, context: VersionContext): void {
  const { version, service } = context;
  app.get('/programs', { schema: { querystring: context.schemas.searchProgramsQuery } }, (request, reply) => {
    const query = request.query as Json & PageQuery;
    const programs = [programOf(version, context.org)].filter((program) =>
      matchesTargets(version, program, query),
    );
    return reply.send(page(programs, query));
  });
  app.get(
    '/programs/:programID',
    { schema: { params: schemas.common.programIdParams } },
    (request, reply) => {
      if ((request.params as { programID: string }).programID !== PROGRAM_ID) {
        throw notFound('no such program');
      }
      return reply.send(programOf(version, context.org));
    },
  );
  app.post('/programs', refused(FROM_LEDGER));
  app.put('/programs/:programID', refused(FROM_LEDGER));
  app.delete('/programs/:programID', refused(FROM_LEDGER));

  app.get('/events', { schema: { querystring: context.schemas.searchEventsQuery } }, async (request) => {
    const query = request.query as Json & PageQuery;
    const programID = one(query.programID);
    if (programID !== undefined && programID !== PROGRAM_ID) {
      return [];
    }
    const now = Date.now();
    const events = (await service.events(version, clientOf(request), wanted(query))).filter(
      (event) => matchesTargets(version, event, query) && (query.active !== 'true' || isActive(event, now)),
    );
    return page(events, query);
  });
  app.get('/events/:eventID', { schema: { params: schemas.common.eventIdParams } }, async (request) =>
    service.event(version, clientOf(request), (request.params as { eventID: string }).eventID),
  );
  app.post('/events', refused(FROM_LEDGER));
  app.put('/events/:eventID', refused(FROM_LEDGER));
  app.delete('/events/:eventID', refused(FROM_LEDGER));
}
