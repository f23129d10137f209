import type { FastifyInstance } from 'fastify';
import * as schemas from '../schemas';
import { clientOf, page, requireScope, type Json, type PageQuery, type VersionContext } from './common';

const idParams = schemas.common.subscriptionIdParams;

function idOf(params: unknown): string {
  return (params as { subscriptionID: string }).subscriptionID;
}

/** A VEN's subscriptions with webhook callbacks. */
export function subscriptionRoutes(app: FastifyInstance, context: VersionContext): void {
  const { version, subscriptions } = context;
  const body = context.schemas.subscriptionRequest;
  app.get(
    '/subscriptions',
    { schema: { querystring: context.schemas.searchSubscriptionsQuery } },
    (request, reply) => reply.send(page(subscriptions.list(clientOf(request)), request.query as PageQuery)),
  );
  app.get('/subscriptions/:subscriptionID', { schema: { params: idParams } }, (request, reply) =>
    reply.send(subscriptions.get(clientOf(request), idOf(request.params))),
  );
  app.post('/subscriptions', { schema: { body } }, (request, reply) => {
    const client = clientOf(request);
    requireScope(client, 'write_subscriptions');
    return reply.code(201).send(subscriptions.create(version, client, request.body as Json));
  });
  app.put('/subscriptions/:subscriptionID', { schema: { params: idParams, body } }, (request, reply) => {
    const client = clientOf(request);
    requireScope(client, 'write_subscriptions');
    return reply.send(subscriptions.create(version, client, request.body as Json, idOf(request.params)));
  });
  app.delete('/subscriptions/:subscriptionID', { schema: { params: idParams } }, (request, reply) => {
    const client = clientOf(request);
    requireScope(client, 'write_subscriptions');
    return reply.send(subscriptions.delete(client, idOf(request.params)));
  });
}
