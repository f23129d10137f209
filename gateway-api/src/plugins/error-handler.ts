import type { FastifyError, FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { HttpError, toHttpError } from '../http/errors';

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
 * One error format for the whole API. Validation errors become 400 with Fastify's precise
 * message; chaincode refusals and Fabric failures are mapped by toHttpError. Messages never carry
 * request bodies (which may hold forecast values or signatures).
 */
export const errorHandler = fp(
  (app: FastifyInstance, _options: unknown, done: (error?: Error) => void) => {
    app.addSchema(errorResponseSchema);
    app.setErrorHandler((error: FastifyError, request, reply) => {
      let mapped: HttpError;
      if (error.validation !== undefined) {
        mapped = new HttpError(400, 'INVALID_REQUEST', error.message);
      } else if (error.statusCode !== undefined && error.statusCode < 500 && !(error instanceof HttpError)) {
        // Fastify's own client errors: body too large, bad content type, rate limited, ...
        mapped = new HttpError(error.statusCode, error.code ?? 'BAD_REQUEST', error.message);
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
    app.setNotFoundHandler((_request, reply) => {
      void reply.status(404).send({ statusCode: 404, code: 'NOT_FOUND', message: 'no such route' });
    });
    done();
  },
  { name: 'error-handler' },
);
