import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

/** The tags the resources' routes are grouped under, in the order the docs page shows them. */
const TAGS: Readonly<Record<string, string>> = {
  slots: 'Timeslots: prices, forecasts, aggregates, dispatch',
  devices: "Device onboarding with the utility's Fabric CA",
  vens: "OpenADR 3 VENs of the utility's homes: credentials and home certificates",
  windows: 'Energy auction: trading windows, reveal, clearing, settlement',
  orders: 'Energy auction: sealed orders signed by HEMS devices',
  meter: 'Energy auction: available energy and delivery reports',
  accounts: 'Energy auction: token accounts and deposits',
  dr: 'Demand response: pool, events, meter history, baselines and rewards',
  events: 'Server-sent events of slots, dispatch and trading windows',
  audit: 'Ledger history, transactions, blocks, proofs of submission',
  operations: 'Health and readiness',
};

/**
 * OpenAPI 3 document generated from the route schemas (GET /docs/json) and a docs page (/docs).
 * Must be registered before the routes it describes.
 */
export const docs = fp(
  async (app: FastifyInstance, options: { readonly org: string }) => {
    await app.register(swagger, {
      openapi: {
        openapi: '3.0.3',
        info: {
          title: 'HEMS transactive energy gateway',
          description:
            `Gateway of ${options.org}. Clients authenticate with mutual TLS using a certificate issued by ` +
            "a channel organization's Fabric CA; the role comes from its hems.role attribute.",
          version: '0.1.0',
        },
        tags: Object.entries(TAGS).map(([name, description]) => ({ name, description })),
      },
    });
    await app.register(swaggerUi, { routePrefix: '/docs' });
  },
  { name: 'docs' },
);
