import type { FastifyInstance } from 'fastify';
import * as schemas from '../schemas';
import { clientOf, page, requireScope, type Json, type PageQuery, type VersionContext } from './common';
import { documented, listOf } from './docs';

const idParams = schemas.common.subscriptionIdParams;

function idOf(params: unknown): string {
  return (params as { subscriptionID: string }).subscriptionID;
}

/** A VEN's subscriptions with webhook callbacks. */
export function subscriptionRoutes(app: FastifyInstance, context: VersionContext): void {
  const { version, subscriptions } = context;
  const v = context.schemas;
  const body = v.subscriptionRequest;
  const doc = (summary: string, ok: number, answer: unknown) =>
    documented('subscriptions', summary, ok, answer);
  app.get(
    '/subscriptions',
    {
      schema: {
        ...doc("The VEN's subscriptions", 200, listOf(v.subscription)),
        querystring: v.searchSubscriptionsQuery,
      },
    },
    (request, reply) =>
      reply.send(page(subscriptions.list(version, clientOf(request)), request.query as PageQuery)),
  );
  app.get(
    '/subscriptions/:subscriptionID',
    { schema: { ...doc('One subscription of the VEN', 200, v.subscription), params: idParams } },
    (request, reply) => reply.send(subscriptions.get(version, clientOf(request), idOf(request.params))),
  );
  app.post(
    '/subscriptions',
    { schema: { ...doc('Subscribe to events, with a webhook callback', 201, v.subscription), body } },
    (request, reply) => {
      const client = clientOf(request);
      requireScope(client, 'write_subscriptions');
      return reply.code(201).send(subscriptions.create(version, client, request.body as Json));
    },
  );
  app.put(
    '/subscriptions/:subscriptionID',
    { schema: { ...doc('Replace a subscription', 200, v.subscription), params: idParams, body } },
    (request, reply) => {
      const client = clientOf(request);
      requireScope(client, 'write_subscriptions');
      return reply.send(subscriptions.create(version, client, request.body as Json, idOf(request.params)));
    },
  );
  app.delete(
    '/subscriptions/:subscriptionID',
    { schema: { ...doc('Delete a subscription; answers it', 200, v.subscription), params: idParams } },
    (request, reply) => {
      const client = clientOf(request);
      requireScope(client, 'write_subscriptions');
      return reply.send(subscriptions.delete(version, client, idOf(request.params)));
    },
  );
}
