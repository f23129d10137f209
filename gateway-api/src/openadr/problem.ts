import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HttpError, toHttpError } from '../http/errors';
import type { DeclaredMethods } from '../plugins/http-conformance';

/**
 * Errors of the VTN as the OpenADR specs answer them: the problem object (RFC 7807) with a status,
 * a title and a detail that never quotes the request (a report's values are private).
 */
export class VtnProblem extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
  ) {
    super(detail);
    this.name = 'VtnProblem';
  }
}

const TITLES: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
};

export const badRequest = (detail: string): VtnProblem => new VtnProblem(400, 'Bad Request', detail);
export const forbidden = (detail: string): VtnProblem => new VtnProblem(403, 'Forbidden', detail);
export const notFound = (detail: string): VtnProblem => new VtnProblem(404, 'Not Found', detail);

export interface ProblemBody {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly instance?: string;
}

function problemBody(status: number, detail: string, title = TITLES[status] ?? 'Error'): ProblemBody {
  return { type: 'about:blank', title, status, detail };
}

/**
 * A refusal of the ledger or of the gateway's services, as a problem: chaincode refusals and Fabric
 * failures are mapped as the REST gateway maps them (toHttpError), so a client's request that the
 * chaincode refuses is a 4xx, never a 500.
 */
export function problemOf(error: unknown): ProblemBody {
  if (error instanceof VtnProblem) {
    return problemBody(error.status, error.detail, error.title);
  }
  const framework = error as Partial<FastifyError>;
  if (framework.validation === undefined && framework.statusCode === undefined) {
    const mapped = toHttpError(error);
    return problemBody(mapped.statusCode, `${mapped.code}: ${mapped.message}`);
  }
  if (error instanceof HttpError) {
    return problemBody(error.statusCode, `${error.code}: ${error.message}`);
  }
  return frameworkProblem(framework);
}

/** Fastify's own refusals (validation, body parsing), in words that never quote the request. */
function frameworkProblem(framework: Partial<FastifyError>): ProblemBody {
  if (framework.validation !== undefined) {
    // Ajv names the member and the rule it broke, never the value sent.
    const where = framework.validationContext ?? 'request';
    const first = framework.validation[0];
    return problemBody(400, `${where}${first?.instancePath ?? ''} ${first?.message ?? 'is invalid'}`);
  }
  const status = framework.statusCode;
  if (status !== undefined && status >= 400 && status < 500) {
    const detail =
      framework.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
        ? 'the request body must be application/json'
        : framework.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
          ? 'the request body is too large'
          : 'the request is malformed';
    return problemBody(status, detail);
  }
  return problemBody(500, 'the VTN failed to answer; try again later');
}

/**
 * The VTN's error and not-found handlers: every error is a problem object, and a request for a
 * path that takes other methods is 405 with Allow.
 */
export function useProblems(app: FastifyInstance, declared: DeclaredMethods): void {
  app.setErrorHandler((error: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const body = problemOf(error);
    if (body.status >= 500) {
      request.log.error({ err: error }, 'VTN request failed');
    }
    // RFC 6749's members too: the token endpoint documents (and OAuth2 clients parse) those; every
    // other route's problem schema leaves them out.
    void reply
      .code(body.status)
      .type('application/json')
      .send({
        ...body,
        error: body.status === 401 ? 'invalid_client' : 'invalid_request',
        error_description: body.detail,
      });
  });
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '';
    const allowed = declared.allowedFor(path);
    if (allowed.length > 0) {
      void reply
        .code(405)
        .header('allow', allowed.join(', '))
        .type('application/json')
        .send(problemBody(405, `${request.method} is not allowed here; allowed: ${allowed.join(', ')}`));
      return;
    }
    void reply.code(404).type('application/json').send(problemBody(404, 'no such VTN resource'));
  });
}
