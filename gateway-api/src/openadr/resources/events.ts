import type { FastifyInstance } from 'fastify';
import { notFound } from '../problem';
import { programOf, PROGRAM_ID, SLOT_DURATION_MS } from '../render';
import * as schemas from '../schemas';
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
import { documented, listOf, refusal } from './docs';

const FROM_LEDGER = 'programs and events are published by the utility from the ledger; clients read them';

/** An event whose interval has not ended. */
function isActive(event: Json, now: number): boolean {
  const start = Date.parse((event.intervalPeriod as { start?: string } | undefined)?.start ?? '');
  return Number.isNaN(start) || start + SLOT_DURATION_MS > now;
}

/** The utility's one program, and the events derived from its slots. */
export function eventRoutes(app: FastifyInstance, context: VersionContext): void {
  const { version, service } = context;
  const v = context.schemas;
  const programParams = schemas.common.programIdParams;
  const eventParams = schemas.common.eventIdParams;

  app.get(
    '/programs',
    {
      schema: {
        ...documented('programs', "The utility's program", 200, listOf(v.program)),
        querystring: v.searchProgramsQuery,
      },
    },
    (request, reply) => {
      const query = request.query as Json & PageQuery;
      const programs = [programOf(version, context.org)].filter((program) =>
        matchesTargets(version, program, query),
      );
      return reply.send(page(programs, query));
    },
  );
  app.get(
    '/programs/:programID',
    { schema: { ...documented('programs', 'One program', 200, v.program), params: programParams } },
    (request, reply) => {
      if ((request.params as { programID: string }).programID !== PROGRAM_ID) {
        throw notFound('no such program');
      }
      return reply.send(programOf(version, context.org));
    },
  );
  const programWrite = refusal('programs', 'Refused: programs come from the ledger');
  app.post('/programs', { schema: programWrite }, refused(FROM_LEDGER));
  app.put(
    '/programs/:programID',
    { schema: { ...programWrite, params: programParams } },
    refused(FROM_LEDGER),
  );
  app.delete(
    '/programs/:programID',
    { schema: { ...programWrite, params: programParams } },
    refused(FROM_LEDGER),
  );

  app.get(
    '/events',
    {
      schema: {
        ...documented(
          'events',
          "A slot's price range per bus, and the caller's own dispatch",
          200,
          listOf(v.event),
        ),
        querystring: v.searchEventsQuery,
      },
    },
    async (request) => {
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
    },
  );
  app.get(
    '/events/:eventID',
    {
      schema: { ...documented('events', 'One event the caller may see', 200, v.event), params: eventParams },
    },
    async (request) =>
      service.event(version, clientOf(request), (request.params as { eventID: string }).eventID),
  );
  const eventWrite = refusal('events', 'Refused: events come from the ledger');
  app.post('/events', { schema: eventWrite }, refused(FROM_LEDGER));
  app.put('/events/:eventID', { schema: { ...eventWrite, params: eventParams } }, refused(FROM_LEDGER));
  app.delete('/events/:eventID', { schema: { ...eventWrite, params: eventParams } }, refused(FROM_LEDGER));
}
