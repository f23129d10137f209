import type { JsonSchemaToTsProvider } from '@fastify/type-provider-json-schema-to-ts';
import type {
  FastifyBaseLogger,
  FastifyContextConfig,
  FastifyInstance,
  FastifyTypeProvider,
  RawReplyDefaultExpression,
  RawRequestDefaultExpression,
  RawServerDefault,
} from 'fastify';
import type { Role } from '../identity/caller';

/** What json-schema-to-ts infers from a schema that Fastify validates with. */
type ValidatedBy<Schema> = (JsonSchemaToTsProvider & { readonly schema: Schema })['validator'];

/**
 * Request bodies, params, querystrings and headers typed from their route schemas by
 * json-schema-to-ts. Answers are not typed from the response schemas: most pass on what the
 * chaincode answered, and Fastify's serializer holds them to those schemas at run time.
 */
export interface RequestSchemaProvider extends FastifyTypeProvider {
  readonly validator: ValidatedBy<this['schema']>;
  readonly serializer: unknown;
}

/**
 * The gateway's Fastify instance with request types inferred from each route's JSON schemas, so
 * a body, params or query type has one source: the schema Fastify validates it with (and the
 * OpenAPI document shows).
 */
export type TypedApp = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  RequestSchemaProvider
>;

/** A plugin holding one resource's routes. */
export type RoutesPlugin = (app: FastifyInstance, options: unknown, done: (error?: Error) => void) => void;

/** A routes plugin from a function that declares routes on the typed instance. */
export function routes(declare: (app: TypedApp) => void): RoutesPlugin {
  return (app, _options, done) => {
    declare(app.withTypeProvider<RequestSchemaProvider>());
    done();
  };
}

/** Who may call a route, and the largest body it takes. */
export interface RouteAccess {
  /** Roles allowed on the route; absent means any authenticated caller. */
  readonly roles?: readonly Role[];
  /** Public route: no client certificate needed. */
  readonly public?: true;
  /** A larger body than the gateway's small global limit (routes whose body is one long list). */
  readonly bodyLimit?: number;
}

/** What a route's schema states beyond its resource's tags: its summary, inputs and answers. */
export interface RouteSchemaParts {
  readonly params?: object;
  readonly querystring?: object;
  readonly headers?: object;
  readonly body?: object;
  readonly response: Readonly<Record<number, unknown>>;
}

/** A route's options: its access in `config`, its body limit, and its schema (OpenAPI-documented). */
export interface RouteOptions<Schema> {
  readonly config: FastifyContextConfig;
  readonly bodyLimit?: number;
  readonly schema: Schema;
}

/**
 * The route options of one resource's routes, all under `tags` in the OpenAPI document: each
 * route states its summary, then its access and schema parts in one object. The schema keeps the
 * literal types of its parts, so the type provider infers each request from it.
 */
export function resourceRoutes<const Tags extends readonly string[]>(...tags: Tags) {
  return <const Parts extends RouteSchemaParts & RouteAccess>(
    summary: string,
    { roles, public: isPublic, bodyLimit, ...parts }: Parts,
  ): RouteOptions<{ readonly tags: Tags; readonly summary: string } & Omit<Parts, keyof RouteAccess>> => ({
    config: isPublic === true ? { public: true } : roles === undefined ? {} : { roles },
    ...(bodyLimit === undefined ? {} : { bodyLimit }),
    schema: { tags, summary, ...parts, response: { ...DOCUMENTED_ERRORS, ...parts.response } },
  });
}

/**
 * What every route may answer besides its own documented answers, all in the error handler's
 * shape: client errors (validation, identity, refusals mapped from the chaincode, limits) and
 * server-side unavailability of the ledger. A route's own entries for a status take precedence.
 */
export const DOCUMENTED_ERRORS = {
  '4xx': { $ref: 'ErrorResponse#', description: 'A refusal: its code and message say why' },
  '5xx': {
    $ref: 'ErrorResponse#',
    description: 'The ledger or a peer did not answer; the request may be retried',
  },
} as const;
