import type { FastifyRequest } from 'fastify';
import type { VtnClient } from '../auth/clients';
import { forbidden, VtnProblem } from '../problem';
import * as schemas from '../schemas';
import type { Subscriptions } from '../subscriptions';
import type { VtnService } from '../vtn-service';
import type { OpenAdrVersion } from '../versions';

/** A JSON object as the VTN answers it. */
export type Json = Record<string, unknown>;

/** What every resource's routes of one version share. */
export interface VersionContext {
  readonly version: OpenAdrVersion;
  readonly org: string;
  readonly service: VtnService;
  readonly subscriptions: Subscriptions;
  /** That version's request and query schemas. */
  readonly schemas: typeof schemas.v310 | typeof schemas.v301;
}

declare module 'fastify' {
  interface FastifyRequest {
    vtnClient?: VtnClient;
  }
}

/** The client the bearer check found (every VTN route but /auth has one). */
export function clientOf(request: FastifyRequest): VtnClient {
  const client = request.vtnClient;
  if (client === undefined) {
    throw new VtnProblem(401, 'Unauthorized', 'a bearer token is required');
  }
  return client;
}

export function requireScope(client: VtnClient, scope: string): void {
  if (!client.scope.split(' ').includes(scope)) {
    throw forbidden(`the token lacks the ${scope} scope`);
  }
}

/** A list query's skip and limit (decimal strings the schema checked); the specs' default limit is 50. */
export interface PageQuery {
  readonly skip?: string;
  readonly limit?: string;
}

export function page<T>(items: readonly T[], query: PageQuery): T[] {
  const skip = Number(query.skip ?? '0');
  return items.slice(skip, skip + Number(query.limit ?? '50'));
}

/** How many objects a page needs found: skip + limit. */
export function wanted(query: PageQuery): number {
  return Number(query.skip ?? '0') + Number(query.limit ?? '50');
}

/** A single query value, or the first of repeated ones. */
export function one(value: unknown): string | undefined {
  return Array.isArray(value) ? (value[0] as string | undefined) : (value as string | undefined);
}

/** The values of a query parameter (the schema allows strings and arrays of strings). */
function many(value: unknown): string[] {
  return value === undefined ? [] : Array.isArray(value) ? (value as string[]) : [value as string];
}

/**
 * The target filters of a list query: 3.1.0 `targets` (strings), 3.0.1 `targetType` with
 * `targetValues`. An object matches when it carries every target asked for.
 */
export function matchesTargets(version: OpenAdrVersion, object: Json, query: Json): boolean {
  const targets = (object.targets as unknown[] | undefined) ?? [];
  if (version === '3.1.0') {
    return many(query.targets).every((target) => targets.includes(target));
  }
  const type = one(query.targetType);
  const values = many(query.targetValues);
  if (type === undefined && values.length === 0) {
    return true;
  }
  return targets.some((entry) => {
    const map = entry as { type?: unknown; values?: unknown[] };
    return (type === undefined || map.type === type) && values.every((value) => map.values?.includes(value));
  });
}

/** A route for a write no client may make here. */
export function refused(detail: string) {
  return (): never => {
    throw forbidden(detail);
  };
}
