import type { FastifyInstance } from 'fastify';
import type { VtnClient } from '../auth/clients';
import { forbidden, notFound } from '../problem';
import * as schemas from '../schemas';
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
  app.get('/vens', { schema: { querystring: context.schemas.searchVensQuery } }, (request, reply) => {
    const query = request.query as Json & PageQuery;
    const ven = venObject(context, clientOf(request));
    const venName = one(query.venName);
    const matches =
      (venName === undefined || venName === ven.venName) && matchesTargets(context.version, ven, query);
    return reply.send(page(matches ? [ven] : [], query));
  });
  app.get('/vens/:venID', { schema: { params: schemas.common.venIdParams } }, (request, reply) => {
    const ven = venObject(context, clientOf(request));
    if ((request.params as { venID: string }).venID !== ven.id) {
      throw notFound('no such VEN');
    }
    return reply.send(ven);
  });
  app.post('/vens', refused(PROVISIONED));
  app.put('/vens/:venID', refused(PROVISIONED));
  app.delete('/vens/:venID', refused(PROVISIONED));

  const v310 = context.version === '3.1.0';
  const listPath = v310 ? '/resources' : '/vens/:venID/resources';
  const itemPath = `${listPath}/:resourceID`;
  const listParams = v310 ? undefined : schemas.common.venIdParams;
  const itemParams = v310 ? schemas.v310.resourceIdParams : schemas.v301.venResourceIdParams;
  app.get(
    listPath,
    {
      schema: {
        querystring: context.schemas.searchResourcesQuery,
        ...(listParams === undefined ? {} : { params: listParams }),
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
  app.get(itemPath, { schema: { params: itemParams } }, (request, reply) => {
    const resource = resourceOf(context, clientOf(request));
    const params = request.params as { resourceID: string; venID?: string };
    if (
      params.resourceID !== resource.id ||
      (params.venID !== undefined && params.venID !== resource.venID)
    ) {
      throw notFound('no such resource');
    }
    return reply.send(resource);
  });
  app.post(listPath, refused(PROVISIONED));
  app.put(itemPath, refused(PROVISIONED));
  app.delete(itemPath, refused(PROVISIONED));
}
