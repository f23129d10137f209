import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

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
        tags: [
          { name: 'slots', description: 'Timeslots: prices, forecasts, aggregates, dispatch' },
          { name: 'devices', description: "Device onboarding with the utility's Fabric CA" },
          { name: 'windows', description: 'Energy auction: trading windows, reveal, clearing, settlement' },
          { name: 'orders', description: 'Energy auction: sealed orders signed by HEMS devices' },
          { name: 'meter', description: 'Energy auction: available energy and delivery reports' },
          { name: 'accounts', description: 'Energy auction: token accounts and deposits' },
          { name: 'events', description: 'Server-sent events of slots, dispatch and trading windows' },
          { name: 'audit', description: 'Ledger history, transactions, blocks, proofs of submission' },
          { name: 'operations', description: 'Health and readiness' },
        ],
      },
    });
    await app.register(swaggerUi, { routePrefix: '/docs' });
  },
  { name: 'docs' },
);
