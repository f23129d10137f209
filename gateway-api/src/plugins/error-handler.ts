import type { FastifyError, FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { HttpError, toHttpError } from '../http/errors';
import { answerUnrouted } from './http-conformance';

/** The body of every error response. */
export const errorResponseSchema = {
  $id: 'ErrorResponse',
  type: 'object',
  required: ['statusCode', 'code', 'message'],
  properties: {
    statusCode: { type: 'integer' },
    code: { type: 'string' },
    message: { type: 'string' },
    transactionId: { type: 'string' },
  },
} as const;

/**
 * Fastify's own client errors as the API names them, with fixed messages: the framework's texts
 * may quote the request body (a JSON parse error does), which may hold private values.
 */
const FRAMEWORK_REFUSALS: Readonly<Record<string, readonly [number, string, string]>> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: [
    415,
    'UNSUPPORTED_MEDIA_TYPE',
    'the request body must be application/json',
  ],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: [400, 'INVALID_REQUEST', 'the Content-Length does not match the body'],
  FST_ERR_CTP_BODY_TOO_LARGE: [
    413,
    'PAYLOAD_TOO_LARGE',
    'the request body is larger than this operation takes',
  ],
  FST_ERR_CTP_EMPTY_JSON_BODY: [400, 'INVALID_REQUEST', 'a JSON request body must not be empty'],
  FST_ERR_CTP_INVALID_JSON_BODY: [400, 'INVALID_REQUEST', 'the request body is not valid JSON'],
  FST_ERR_ROUTE_MISSING_CONTENT_TYPE: [
    415,
    'UNSUPPORTED_MEDIA_TYPE',
    'the request body must be application/json',
  ],
};

function frameworkRefusal(error: FastifyError): HttpError {
  const known = FRAMEWORK_REFUSALS[error.code];
  if (known !== undefined) {
    return new HttpError(...known);
  }
  const statusCode = error.statusCode ?? 400;
  // A JSON syntax error carries no code of its own; its message may quote the body.
  return error instanceof SyntaxError
    ? new HttpError(400, 'INVALID_REQUEST', 'the request body is not valid JSON')
    : new HttpError(statusCode, 'BAD_REQUEST', 'the request was refused');
}

/**
 * One error format for the whole API. Validation errors become 400 with Fastify's precise
 * message; chaincode refusals and Fabric failures are mapped by toHttpError. Messages never carry
 * request bodies (which may hold forecast values or signatures).
 */
export const errorHandler = fp(
  (app: FastifyInstance, _options: unknown, done: (error?: Error) => void) => {
    app.addSchema(errorResponseSchema);
    app.setErrorHandler((error: FastifyError, request, reply) => {
      // A request no route takes can fail before the not-found handler runs (a QUERY without a
      // Content-Type): it is still answered as unrouted (405 with Allow, or 404).
      if (request.is404) {
        answerUnrouted(request, reply);
        return;
      }
      let mapped: HttpError;
      if (error.validation !== undefined) {
        mapped = new HttpError(400, 'INVALID_REQUEST', error.message);
      } else if (error.statusCode !== undefined && error.statusCode < 500 && !(error instanceof HttpError)) {
        // Fastify's own client errors: body too large, bad content type, malformed JSON, ...
        mapped = frameworkRefusal(error);
      } else {
        mapped = toHttpError(error);
      }
      if (mapped.statusCode >= 500) {
        request.log.error(
          { code: mapped.code, transactionId: mapped.transactionId, err: { type: error.name } },
          mapped.message,
        );
      } else {
        request.log.info({ code: mapped.code, transactionId: mapped.transactionId }, mapped.message);
      }
      void reply.status(mapped.statusCode).send({
        statusCode: mapped.statusCode,
        code: mapped.code,
        message: mapped.message,
        ...(mapped.transactionId === undefined ? {} : { transactionId: mapped.transactionId }),
      });
    });
    done();
  },
  { name: 'error-handler' },
);
