import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { DOCUMENTED_ERRORS } from '../http/routes';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';
import { chaincodeRefusal } from '@hems/network-client';
import { toHttpError } from '../http/errors';

/** How a Fabric submit ended: committed, refused by the chaincode, or failed in Fabric. */
export type SubmitOutcome = 'success' | 'refused' | 'failed';

export interface GatewayMetrics {
  readonly registry: Registry;
  /**
   * Counts one submitted transaction. `code` is the chaincode refusal code (refused) or the API
   * error code (failed). Routes that call this set `config.submitMetrics: 'manual'`, so the
   * automatic count does not count their requests a second time.
   */
  recordSubmit(outcome: SubmitOutcome, code?: string): void;
}

declare module 'fastify' {
  interface FastifyInstance {
    metrics: GatewayMetrics;
  }
  interface FastifyContextConfig {
    /**
     * 'manual': the route records its submits with app.metrics.recordSubmit (e.g. one request
     * that submits several transactions). Default: counted from the response.
     */
    submitMetrics?: 'auto' | 'manual';
  }
}

export interface MetricsOptions {
  /** Node.js process metrics (CPU, memory, event loop lag) in the same registry. Default true. */
  readonly processMetrics?: boolean;
}

/** Label of requests that matched no route, so unknown URLs cannot grow the label set. */
const UNMATCHED_ROUTE = 'unmatched';

/**
 * Classifies an error a submitting handler threw: a chaincode refusal (the transaction was
 * endorsed as refused, nothing written) or a Fabric failure. Undefined when the error carries no
 * transaction id, i.e. no transaction was created (an evaluation, a validation error, ...).
 */
export function submitOutcomeOf(error: unknown): { outcome: SubmitOutcome; code: string } | undefined {
  const mapped = toHttpError(error);
  if (mapped.transactionId === undefined) {
    return undefined;
  }
  const refusal = chaincodeRefusal(error);
  return refusal === undefined
    ? { outcome: 'failed', code: mapped.code }
    : { outcome: 'refused', code: refusal.code };
}

/**
 * Prometheus metrics in a registry of this app instance (several apps in one process, as in
 * tests, do not share counters): HTTP requests and latency by method, route pattern and status,
 * and Fabric submit outcomes. GET /metrics serves them in the text format.
 */
export const metrics = fp(
  (app: FastifyInstance, options: MetricsOptions, done: (error?: Error) => void) => {
    const registry = new Registry();
    if (options.processMetrics !== false) {
      collectDefaultMetrics({ register: registry, prefix: 'hems_gateway_' });
    }
    const labelNames = ['method', 'route', 'status'] as const;
    const requests = new Counter({
      name: 'hems_gateway_http_requests_total',
      help: 'HTTP requests answered, by method, route pattern and status',
      labelNames,
      registers: [registry],
    });
    const latency = new Histogram({
      name: 'hems_gateway_http_request_duration_seconds',
      help: 'HTTP request latency (submits include endorsement, ordering and commit)',
      labelNames,
      // Evaluations take milliseconds; submits wait for the commit (block cutting: seconds).
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [registry],
    });
    const submits = new Counter({
      name: 'hems_gateway_fabric_submits_total',
      help: 'Fabric transactions submitted: success, refused (with chaincode code) or failed (with API code)',
      labelNames: ['outcome', 'code'] as const,
      registers: [registry],
    });
    const gatewayMetrics: GatewayMetrics = {
      registry,
      recordSubmit: (outcome, code = '') => submits.inc({ outcome, code }),
    };
    app.decorate('metrics', gatewayMetrics);

    const countsSubmitsAutomatically = (request: FastifyRequest): boolean =>
      request.routeOptions.config.submitMetrics !== 'manual';

    // onError sees the handler's own error before the error handler maps it to a response.
    app.addHook('onError', (request, _reply, error, next) => {
      const outcome = countsSubmitsAutomatically(request) ? submitOutcomeOf(error) : undefined;
      if (outcome !== undefined) {
        gatewayMetrics.recordSubmit(outcome.outcome, outcome.code);
      }
      next();
    });

    app.addHook('onResponse', (request, reply, next) => {
      const labels = {
        method: request.method,
        route: request.routeOptions.url ?? UNMATCHED_ROUTE,
        status: String(reply.statusCode),
      };
      requests.inc(labels);
      latency.observe(labels, reply.elapsedTime / 1000);
      // Submitting routes answer a committed transaction with its id; a replayed idempotent
      // answer repeats the header but submitted nothing.
      if (
        reply.statusCode < 400 &&
        reply.hasHeader('x-transaction-id') &&
        !reply.hasHeader('idempotent-replay') &&
        countsSubmitsAutomatically(request)
      ) {
        gatewayMetrics.recordSubmit('success');
      }
      next();
    });

    app.get(
      '/metrics',
      {
        config: { public: true },
        schema: {
          tags: ['operations'],
          summary: 'Prometheus metrics (text exposition format)',
          response: {
            200: {
              description: 'Prometheus text exposition format',
              content: { 'text/plain': { schema: { type: 'string' } } },
            },
            ...DOCUMENTED_ERRORS,
          },
        },
      },
      async (_request, reply) => {
        const text = await registry.metrics();
        return reply.type(registry.contentType).send(text);
      },
    );
    done();
  },
  { name: 'metrics' },
);
