import type { FastifyInstance } from 'fastify';
import type { VtnClient } from '../auth/clients';
import { forbidden, notFound } from '../problem';
import * as schemas from '../schemas';
import { documented, listOf, refusal } from './docs';
import {
  clientOf,
  matchesTargets,
  one,
  page,
  refused,
  type Json,
  type PageQuery,
  type VersionContext,
} from './common';

const PROVISIONED = "a VEN and its resource are provisioned when the utility issues the VEN's credentials";

/** A VEN's own object, as the utility provisioned it with the VEN's credentials. */
function venObject(context: VersionContext, client: VtnClient): Json {
  if (client.role !== 'ven') {
    throw forbidden("this utility's VENs are not disclosed to business logic");
  }
  const ven = client.ven;
  return {
    id: ven.venId,
    createdDateTime: ven.createdAt,
    modificationDateTime: ven.createdAt,
    objectType: 'VEN',
    venName: ven.venName,
    ...(context.version === '3.1.0'
      ? { clientID: ven.clientId, targets: [ven.venName] }
      : { targets: [{ type: 'VEN_NAME', values: [ven.venName] }], resources: [] }),
  };
}

/** A VEN's one resource: its home. */
function resourceOf(context: VersionContext, client: VtnClient): Json {
  const ven = venObject(context, client);
  return {
    id: `res-${String(ven.id)}`,
    createdDateTime: ven.createdDateTime,
    modificationDateTime: ven.modificationDateTime,
    objectType: 'RESOURCE',
    resourceName: 'home',
    venID: ven.id,
    ...(context.version === '3.1.0' ? { clientID: ven.clientID } : {}),
  };
}

/** VENs read their own object and resource (3.1.0 at /resources, 3.0.1 under the VEN). */
export function venRoutes(app: FastifyInstance, context: VersionContext): void {
  const v = context.schemas;
  const venParams = schemas.common.venIdParams;
  const provisioned = refusal('vens', 'Refused: provisioned with the credentials');
  app.get(
    '/vens',
    {
      schema: {
        ...documented('vens', "The VEN's own object", 200, listOf(v.ven)),
        querystring: v.searchVensQuery,
      },
    },
    (request, reply) => {
      const query = request.query as Json & PageQuery;
      const ven = venObject(context, clientOf(request));
      const venName = one(query.venName);
      const matches =
        (venName === undefined || venName === ven.venName) && matchesTargets(context.version, ven, query);
      return reply.send(page(matches ? [ven] : [], query));
    },
  );
  app.get(
    '/vens/:venID',
    { schema: { ...documented('vens', "The VEN's own object", 200, v.ven), params: venParams } },
    (request, reply) => {
      const ven = venObject(context, clientOf(request));
      if ((request.params as { venID: string }).venID !== ven.id) {
        throw notFound('no such VEN');
      }
      return reply.send(ven);
    },
  );
  app.post('/vens', { schema: provisioned }, refused(PROVISIONED));
  app.put('/vens/:venID', { schema: { ...provisioned, params: venParams } }, refused(PROVISIONED));
  app.delete('/vens/:venID', { schema: { ...provisioned, params: venParams } }, refused(PROVISIONED));

  const v310 = context.version === '3.1.0';
  const listPath = v310 ? '/resources' : '/vens/:venID/resources';
  const itemPath = `${listPath}/:resourceID`;
  const listParams = v310 ? {} : { params: venParams };
  const itemParams = v310 ? schemas.v310.resourceIdParams : schemas.v301.venResourceIdParams;
  app.get(
    listPath,
    {
      schema: {
        ...documented('vens', "The VEN's one resource, its home", 200, listOf(v.resource)),
        querystring: v.searchResourcesQuery,
        ...listParams,
      },
    },
    (request, reply) => {
      const query = request.query as Json & PageQuery;
      const resource = resourceOf(context, clientOf(request));
      const venID = (request.params as { venID?: string }).venID ?? one(query.venID);
      const resourceName = one(query.resourceName);
      const matches =
        (venID === undefined || venID === resource.venID) &&
        (resourceName === undefined || resourceName === resource.resourceName);
      return reply.send(page(matches ? [resource] : [], query));
    },
  );
  app.get(
    itemPath,
    { schema: { ...documented('vens', "The VEN's resource", 200, v.resource), params: itemParams } },
    (request, reply) => {
      const resource = resourceOf(context, clientOf(request));
      const params = request.params as { resourceID: string; venID?: string };
      if (
        params.resourceID !== resource.id ||
        (params.venID !== undefined && params.venID !== resource.venID)
      ) {
        throw notFound('no such resource');
      }
      return reply.send(resource);
    },
  );
  app.post(listPath, { schema: { ...provisioned, ...listParams } }, refused(PROVISIONED));
  app.put(itemPath, { schema: { ...provisioned, params: itemParams } }, refused(PROVISIONED));
  app.delete(itemPath, { schema: { ...provisioned, params: itemParams } }, refused(PROVISIONED));
}
