import type { Socket } from 'node:net';
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import fp from 'fastify-plugin';
import { HttpError } from '../http/errors';

/** A declared route path as a matcher of concrete paths, with the methods it takes. */
interface DeclaredPath {
  readonly pattern: RegExp;
  readonly methods: Set<string>;
}

/** `/v1/slots/:slotId/receipt` → a RegExp matching `/v1/slots/s-1/receipt` (one segment per parameter). */
function pathPattern(url: string): RegExp {
  const source = url
    .split('/')
    .map((segment) => {
      // A parameter constrained by a regular expression (`:accountId(^acct-…$)`) matches only that.
      const constrained = /^:\w+\((.*)\)$/.exec(segment)?.[1];
      if (constrained !== undefined) {
        return `(?:${constrained.replace(/^\^/, '').replace(/\$$/, '')})`;
      }
      return segment.startsWith(':')
        ? '[^/]+'
        : segment === '*'
          ? '.*'
          : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('/');
  return new RegExp(`^${source}/?$`);
}

/** The methods the API declares for each path, learned as routes are added. */
export class DeclaredMethods {
  private readonly paths = new Map<string, DeclaredPath>();

  add(url: string, methods: readonly string[]): void {
    let declared = this.paths.get(url);
    if (declared === undefined) {
      declared = { pattern: pathPattern(url), methods: new Set() };
      this.paths.set(url, declared);
    }
    for (const method of methods) {
      declared.methods.add(method.toUpperCase());
    }
  }

  /** The methods declared for a concrete path, sorted; empty when no route has that path. */
  allowedFor(path: string): string[] {
    const allowed = new Set<string>();
    for (const declared of this.paths.values()) {
      if (declared.pattern.test(path)) {
        declared.methods.forEach((method) => allowed.add(method));
      }
    }
    return [...allowed].sort();
  }
}

/** The declared methods of each gateway, by its HTTP server (one per app, shared by its contexts). */
const declaredByServer = new WeakMap<object, DeclaredMethods>();

/**
 * The answer to a request no route takes: 405 with `Allow` when its path is declared for other
 * methods, else 404. Also the error handler's answer to a request that failed before the
 * not-found handler could run (a QUERY without a Content-Type).
 */
export function answerUnrouted(request: FastifyRequest, reply: FastifyReply): void {
  const path = request.url.split('?')[0] ?? '';
  const allowed = declaredByServer.get(request.server.server)?.allowedFor(path) ?? [];
  if (allowed.length > 0) {
    void reply
      .status(405)
      .header('allow', allowed.join(', '))
      .send({
        statusCode: 405,
        code: 'METHOD_NOT_ALLOWED',
        message: `${request.method} is not allowed here; allowed: ${allowed.join(', ')}`,
      });
    return;
  }
  void reply.status(404).send({ statusCode: 404, code: 'NOT_FOUND', message: 'no such route' });
}

/**
 * Whether the request carries a body: one was parsed, or its length says so. An empty chunked
 * body (a client library's POST without data) is no body.
 */
function hasBody(request: FastifyRequest): boolean {
  const length = request.headers['content-length'];
  return (request.body !== undefined && request.body !== null) || (length !== undefined && length !== '0');
}

/** The API's error shape for an answer written straight to a socket, before any request parsed. */
function rawErrorAnswer(statusCode: 400 | 408 | 431, reason: string, message: string): string {
  const body = JSON.stringify({ statusCode, code: 'BAD_REQUEST', message });
  return (
    `HTTP/1.1 ${statusCode} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`
  );
}

/**
 * A request Node's HTTP parser refused (malformed request line or headers, headers too large, a
 * timeout): answered in the API's error shape, never with the parser's own text.
 */
export function answerClientError(error: Error & { code?: string }, socket: Socket): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const answer =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? rawErrorAnswer(431, 'Request Header Fields Too Large', 'the request headers are too large')
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? rawErrorAnswer(408, 'Request Timeout', 'the request was not received in time')
        : rawErrorAnswer(400, 'Bad Request', 'the request is not valid HTTP');
  socket.end(answer);
}

/**
 * Errors Fastify raises before routing (a malformed URL): answered in the API's error shape.
 */
export function answerFrameworkError(error: Error, _request: FastifyRequest, reply: FastifyReply): void {
  void reply.status(400).send({
    statusCode: 400,
    code: 'INVALID_REQUEST',
    message: (error as { code?: string }).code === 'FST_ERR_BAD_URL' ? 'the URL is malformed' : 'bad request',
  });
}

/**
 * HTTP as clients and tools expect it across every route: an undeclared method on a known path is
 * 405 with `Allow` (an unknown path stays 404), a route without a body schema takes no body, and
 * JSON is the only request body type (a text/plain body is 415 instead of reaching a handler).
 * Register before the routes, after the error handler.
 */
export const httpConformance = fp(
  (app: FastifyInstance, _options: unknown, done: (error?: Error) => void) => {
    const declared = new DeclaredMethods();
    app.removeContentTypeParser('text/plain');
    app.addHook('onRoute', (route: RouteOptions) => {
      const methods = Array.isArray(route.method) ? route.method : [route.method];
      declared.add(route.url, methods);
      if (route.schema?.body === undefined) {
        const existing = route.preValidation;
        const refuseBody = (request: FastifyRequest): Promise<void> =>
          hasBody(request)
            ? Promise.reject(new HttpError(400, 'INVALID_REQUEST', 'this operation takes no request body'))
            : Promise.resolve();
        route.preValidation =
          existing === undefined
            ? refuseBody
            : [...(Array.isArray(existing) ? existing : [existing]), refuseBody];
      }
    });
    declaredByServer.set(app.server, declared);
    app.setNotFoundHandler(answerUnrouted);
    done();
  },
  { name: 'http-conformance', dependencies: ['error-handler'] },
);
