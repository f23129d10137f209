import type { JsonSchemaToTsProvider } from '@fastify/type-provider-json-schema-to-ts';
import type {
  FastifyBaseLogger,
  FastifyInstance,
  FastifyTypeProvider,
  RawReplyDefaultExpression,
  RawRequestDefaultExpression,
  RawServerDefault,
} from 'fastify';

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
