import type { FastifyInstance, FastifyRequest } from 'fastify';
import { chaincodeRefusal } from '@hems/network-client';
import { HttpError } from '../http/errors';
import type { Ledger } from '../ledger/ports';
import { busAggregatesOf, planDispatch, type DispatchPlan } from '../services/dispatch-optimizer';
import type { AggregationFanOut } from '../services/utility-gateways';
import {
  busId,
  certificateTransient,
  decodeJson,
  readerIdentity,
  requireIdentity,
  requireOwnDevice,
  requireOwnOperator,
  signatureBytes,
  signedBody,
  slotIdParams,
  type SlotIdParams,
} from './common';
import type { SlotView } from './slot-view';

export type { SlotView } from './slot-view';

const priceRange = {
  type: 'object',
  required: ['lower', 'upper'],
  additionalProperties: false,
  properties: { lower: { type: 'number' }, upper: { type: 'number' } },
} as const;

const openSlotBody = {
  type: 'object',
  required: ['slotId', 'deadline', 'prices'],
  additionalProperties: false,
  properties: {
    slotId: slotIdParams.properties.slotId,
    deadline: {
      type: 'string',
      format: 'date-time',
      description: 'RFC 3339 time when forecast submission closes',
    },
    prices: {
      type: 'object',
      additionalProperties: false,
      description: 'Price ranges per MWh: a default and/or per bus',
      properties: {
        default: priceRange,
        buses: {
          type: 'array',
          maxItems: 1000,
          items: {
            type: 'object',
            required: ['bus', 'lower', 'upper'],
            additionalProperties: false,
            properties: { bus: busId, lower: { type: 'number' }, upper: { type: 'number' } },
          },
        },
      },
    },
  },
} as const;

const forecastBody = signedBody(
  'The exact JSON text the device signed: {"slotId","lower","upper","nonce"} (kW, base64 nonce of >= 16 bytes)',
);

const dispatchBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    lambda: { type: 'number', minimum: 0, maximum: 1 },
    perBus: {
      type: 'array',
      maxItems: 1000,
      items: {
        type: 'object',
        required: ['bus', 'lambda'],
        additionalProperties: false,
        properties: { bus: busId, lambda: { type: 'number', minimum: 0, maximum: 1 } },
      },
    },
    capacities: {
      type: 'object',
      description:
        'Feeder model: capacity in kW per bus; λ is then computed by the DSO optimizer, which reserves maxHomeKw (channel settings) of a bus for each of its homes whose sums are withheld or missing',
      maxProperties: 1000,
      additionalProperties: { type: 'number', minimum: 0, maximum: 1000000 },
    },
    revisionReason: { type: 'string', minLength: 1, maxLength: 500 },
  },
  oneOf: [{ required: ['lambda'] }, { required: ['capacities'] }],
} as const;

const slotResponse = { type: 'object', additionalProperties: true } as const;

/** The optimizer's plan as the dispatch answer carries it (services/dispatch-optimizer.ts). */
const dispatchPlanSchema = {
  type: 'object',
  description: 'The DSO optimizer’s plan; present when λ was computed from capacities',
  required: ['lambda', 'buses', 'assumedWorstCase'],
  additionalProperties: false,
  properties: {
    lambda: { type: 'number' },
    maxHomeKw: {
      type: 'number',
      description: 'Per-home maximum (channel settings) used to bound unreported homes',
    },
    assumedWorstCase: {
      type: 'array',
      description: 'Buses with homes whose sums are withheld (below k) or missing, bounded by maxHomeKw each',
      items: { type: 'string' },
    },
    buses: {
      type: 'array',
      items: {
        type: 'object',
        required: ['bus', 'capacityKw', 'lambda', 'dispatchedKw', 'unreportedHomes', 'assumedKw'],
        additionalProperties: false,
        properties: {
          bus: { type: 'string' },
          capacityKw: { type: ['number', 'null'], description: 'null: no capacity given for the bus' },
          lambda: { type: ['number', 'null'], description: 'λ_b; null: the bus has no homes' },
          dispatchedKw: {
            type: ['number', 'null'],
            description: 'Load at λ; with unreported homes an upper bound including assumedKw',
          },
          unreportedHomes: { type: 'integer' },
          assumedKw: { type: 'number', description: 'unreportedHomes × maxHomeKw' },
        },
      },
    },
  },
} as const;

const dispatchResponse = {
  type: 'object',
  additionalProperties: true,
  properties: { plan: dispatchPlanSchema },
} as const;

/**
 * The channel's per-home forecast maximum, read at each optimized dispatch: settings change by
 * governance vote, and a stale, larger bound would only be more conservative, a smaller one unsafe.
 */
async function readMaxHomeKw(ledger: Ledger): Promise<number> {
  const settings = decodeJson<{ maxHomeKw?: unknown } | null>(
    await ledger.contract('dso', 'governance').evaluate('GetSettings'),
  );
  const maxHomeKw = settings?.maxHomeKw;
  if (typeof maxHomeKw !== 'number' || !Number.isFinite(maxHomeKw) || maxHomeKw <= 0) {
    throw new HttpError(502, 'BAD_LEDGER_RESPONSE', 'governance:GetSettings answered no positive maxHomeKw');
  }
  return maxHomeKw;
}

/** The plan as JSON: a bus without a given capacity has capacityKw null (JSON has no Infinity). */
function planView(plan: DispatchPlan): Record<string, unknown> {
  return {
    ...plan,
    buses: plan.buses.map((bus) => ({
      ...bus,
      capacityKw: Number.isFinite(bus.capacityKw) ? bus.capacityKw : null,
    })),
  };
}

/** λ as the chaincode reads it: a plain decimal (never 1e-7), at most 6 places. */
function plainDecimal(value: number): string {
  return value.toFixed(6).replace(/\.?0+$/, '');
}

/** The gateway acts as its own org's DSO identity only for that org's operators. */
function requireOwnDso(ledger: Ledger, request: FastifyRequest, what: string): void {
  requireOwnOperator(ledger, request, 'dso', what);
}

/** A cache of public slot data (services/slot-cache.ts); undefined when a slot is not cached. */
export interface SlotLookup {
  get(slotId: string): unknown;
}

export async function loadSlot(ledger: Ledger, slotId: string): Promise<SlotView> {
  return decodeJson<SlotView>(
    await ledger.contract(readerIdentity(ledger)).evaluate('GetSlot', { arguments: [slotId] }),
  );
}

export function slotRoutes(ledger: Ledger, cache?: SlotLookup, fanOut?: AggregationFanOut) {
  // Reads of public slot data are served from the event-fed cache when it has the slot.
  const publicSlot = async (slotId: string): Promise<SlotView> =>
    (cache?.get(slotId) as SlotView | undefined) ?? loadSlot(ledger, slotId);

  return (app: FastifyInstance, _options: unknown, done: (error?: Error) => void): void => {
    app.get<{ Params: SlotIdParams }>(
      '/v1/slots/:slotId',
      {
        schema: {
          tags: ['slots'],
          summary: "A slot: prices, state and λ (HEMS devices see their own bus's prices and λ)",
          params: slotIdParams,
          response: { 200: slotResponse },
        },
      },
      async (request) => {
        const slot = await publicSlot(request.params.slotId);
        if (request.caller.role !== 'hems') {
          return slot;
        }
        const { bus } = requireOwnDevice(ledger, request);
        return {
          slotId: slot.slotId,
          status: slot.status,
          deadline: slot.deadline,
          bus,
          prices: slot.prices.buses.find((entry) => entry.bus === bus) ?? slot.prices.default ?? null,
          lambda:
            slot.dispatch?.perBus.find((entry) => entry.bus === bus)?.lambda ?? slot.dispatch?.lambda ?? null,
        };
      },
    );

    app.get<{ Params: SlotIdParams }>(
      '/v1/slots/:slotId/receipt',
      {
        config: { roles: ['hems'] },
        schema: {
          tags: ['slots'],
          summary: 'HEMS device: its home reference for this slot, to prove its submission to an auditor',
          params: slotIdParams,
          response: {
            200: {
              type: 'object',
              required: ['slotId', 'org', 'bus', 'homeRef'],
              properties: {
                slotId: { type: 'string' },
                org: { type: 'string' },
                bus: { type: 'string' },
                homeRef: { type: 'string' },
              },
            },
          },
        },
      },
      async (request) => {
        const { bus } = requireOwnDevice(ledger, request);
        const { homeRef } = decodeJson<{ homeRef: string }>(
          await ledger.contract('relay').evaluate('GetHomeRef', {
            arguments: [request.params.slotId],
            transientData: { certificate: certificateTransient(request) },
          }),
        );
        return { slotId: request.params.slotId, org: ledger.mspId, bus, homeRef };
      },
    );

    app.post<{ Body: { slotId: string; deadline: string; prices: unknown } }>(
      '/v1/slots',
      {
        config: { roles: ['dso'] },
        schema: {
          tags: ['slots'],
          summary: 'DSO: open a slot with its deadline and price ranges',
          body: openSlotBody,
          response: { 201: slotResponse },
        },
      },
      async (request, reply) => {
        requireOwnDso(ledger, request, 'opening a slot');
        const { slotId, deadline, prices } = request.body;
        const submitted = await ledger
          .contract('dso')
          .submit('OpenSlot', { arguments: [slotId, deadline, JSON.stringify(prices)] });
        void reply.status(201).header('x-transaction-id', submitted.transactionId);
        return decodeJson(submitted.result);
      },
    );

    app.post<{ Params: SlotIdParams; Body: { payload: string; signature: string } }>(
      '/v1/slots/:slotId/forecast',
      {
        config: { roles: ['hems'] },
        schema: {
          tags: ['slots'],
          summary: "HEMS device: submit its signed forecast range; relayed as the utility's relay identity",
          params: slotIdParams,
          body: forecastBody,
          response: {
            201: {
              type: 'object',
              required: ['slotId', 'txId', 'acceptedAt'],
              properties: {
                slotId: { type: 'string' },
                txId: { type: 'string' },
                acceptedAt: { type: 'string' },
              },
            },
          },
        },
      },
      async (request, reply) => {
        requireOwnDevice(ledger, request);
        const submitted = await ledger.contract('relay').submit('SubmitForecast', {
          arguments: [request.params.slotId],
          transientData: {
            payload: Buffer.from(request.body.payload, 'utf8'),
            signature: signatureBytes(request.body.signature),
            certificate: certificateTransient(request),
          },
          endorsingOrganizations: [ledger.mspId],
        });
        void reply.status(201).header('x-transaction-id', submitted.transactionId);
        return decodeJson(submitted.result);
      },
    );

    app.get<{ Params: SlotIdParams }>(
      '/v1/slots/:slotId/dispatch',
      {
        config: { roles: ['hems'] },
        schema: {
          tags: ['slots'],
          summary: 'HEMS device: its own allowed power for the slot (λ·Lmax + (1−λ)·Lmin)',
          params: slotIdParams,
          response: {
            200: {
              type: 'object',
              required: ['slotId', 'lambda', 'allowedKw', 'revision'],
              properties: {
                slotId: { type: 'string' },
                lambda: { type: 'number' },
                allowedKw: { type: 'number' },
                revision: { type: 'integer' },
              },
            },
          },
        },
      },
      async (request) => {
        requireOwnDevice(ledger, request);
        const relay = ledger.contract('relay');
        const { homeRef } = decodeJson<{ homeRef: string }>(
          await relay.evaluate('GetHomeRef', {
            arguments: [request.params.slotId],
            transientData: { certificate: certificateTransient(request) },
          }),
        );
        return decodeJson(
          await relay.evaluate('GetAllowedPower', { arguments: [request.params.slotId, homeRef] }),
        );
      },
    );

    app.get<{ Params: SlotIdParams }>(
      '/v1/slots/:slotId/aggregates',
      {
        config: { roles: ['dso', 'auditor'] },
        schema: {
          tags: ['slots'],
          summary: 'DSO and auditors: per-bus sums over all utilities, homes counted, withheld buses marked',
          params: slotIdParams,
          response: { 200: slotResponse },
        },
      },
      async (request) => {
        const slot = await loadSlot(ledger, request.params.slotId);
        return {
          slotId: slot.slotId,
          status: slot.status,
          buses: slot.busTotals,
          aggregates: slot.aggregates,
        };
      },
    );

    app.post<{ Params: SlotIdParams }>(
      '/v1/slots/:slotId/aggregates',
      {
        config: { roles: ['dso', 'admin', 'relay'] },
        schema: {
          tags: ['slots'],
          summary:
            "Publish this utility's per-bus aggregates of the slot (the DSO asks each utility gateway)",
          params: slotIdParams,
          response: { 200: slotResponse },
        },
      },
      async (request) => {
        const caller = request.caller;
        // The DSO's own gateway holds no utility identity: it asks every utility gateway.
        if (!ledger.identities.includes('relay') && fanOut !== undefined && caller.role === 'dso') {
          return { slotId: request.params.slotId, utilities: await fanOut(request.params.slotId) };
        }
        if (caller.role !== 'dso' && caller.mspId !== ledger.mspId) {
          throw new HttpError(
            403,
            'FORBIDDEN',
            `only the DSO or ${ledger.mspId} itself may trigger its aggregation`,
          );
        }
        requireIdentity(ledger, 'relay', 'aggregation');
        return publishOwnAggregates(ledger, request.params.slotId);
      },
    );

    app.post<{
      Params: SlotIdParams;
      Body: {
        lambda?: number;
        perBus?: { bus: string; lambda: number }[];
        capacities?: Record<string, number>;
        revisionReason?: string;
      };
    }>(
      '/v1/slots/:slotId/dispatch',
      {
        config: { roles: ['dso'] },
        schema: {
          tags: ['slots'],
          summary:
            'DSO: publish λ, explicit or computed by the optimizer from a feeder model (buses with withheld or missing sums bounded by their worst case)',
          params: slotIdParams,
          body: dispatchBody,
          response: { 201: dispatchResponse },
        },
      },
      async (request, reply) => {
        requireOwnDso(ledger, request, 'dispatch');
        const { slotId } = request.params;
        let lambda = request.body.lambda;
        let perBus = request.body.perBus ?? [];
        let plan: DispatchPlan | undefined;
        if (lambda === undefined) {
          const aggregates = busAggregatesOf(await loadSlot(ledger, slotId));
          // The settings are read only when a bus has homes outside its sums.
          const unreported = aggregates.some(
            (aggregate) => (aggregate.withheldHomes ?? 0) + (aggregate.pendingHomes ?? 0) > 0,
          );
          plan = planDispatch(
            aggregates,
            new Map(Object.entries(request.body.capacities ?? {})),
            unreported ? { maxHomeKw: await readMaxHomeKw(ledger) } : {},
          );
          lambda = plan.lambda;
          perBus = [];
        }
        const submitted = await ledger.contract('dso').submit('PublishDispatch', {
          arguments: [
            slotId,
            plainDecimal(lambda),
            perBus.length > 0 ? JSON.stringify(perBus) : '',
            request.body.revisionReason ?? '',
          ],
        });
        void reply.status(201).header('x-transaction-id', submitted.transactionId);
        const published = decodeJson<Record<string, unknown>>(submitted.result);
        return plan === undefined ? published : { ...published, plan: planView(plan) };
      },
    );

    done();
  };
}

/**
 * What a utility gateway does at a slot's deadline or when the DSO asks: for each of its
 * pending aggregates, list its forecasts on its own peer and publish their sums. A bus that may not
 * close yet (deadline not passed, enrolled homes missing) is reported, not failed.
 */
export async function publishOwnAggregates(
  ledger: Ledger,
  slotId: string,
): Promise<{
  slotId: string;
  org: string;
  buses: { bus: string; outcome: string; homes?: number; withheld?: boolean }[];
}> {
  const slot = await loadSlot(ledger, slotId);
  const relay = ledger.contract('relay');
  const buses = [];
  // One listing of all the org's forecasts in the slot serves every bus: each publication reads
  // them all, so the ledger never shows which submission belongs to which bus.
  let refs: string[] | undefined;
  for (const aggregate of slot.aggregates.filter((agg) => agg.org === ledger.mspId)) {
    if (aggregate.published) {
      buses.push({
        bus: aggregate.bus,
        outcome: 'already published',
        homes: aggregate.homes ?? 0,
        withheld: aggregate.withheld ?? false,
      });
      continue;
    }
    refs ??= decodeJson<{ refs: string[] }>(
      await relay.evaluate('ListForecastRefs', { arguments: [slotId, ''] }),
    ).refs;
    try {
      const submitted = await relay.submit('PublishAggregate', {
        arguments: [slotId, aggregate.bus],
        transientData: { refs: Buffer.from(JSON.stringify(refs)) },
        endorsingOrganizations: [ledger.mspId],
      });
      const published = decodeJson<{ homes: number; withheld: boolean }>(submitted.result);
      buses.push({
        bus: aggregate.bus,
        outcome: 'published',
        homes: published.homes,
        withheld: published.withheld,
      });
    } catch (error) {
      if (chaincodeRefusal(error)?.code !== 'FAILED_PRECONDITION') {
        throw error;
      }
      buses.push({ bus: aggregate.bus, outcome: 'not yet: the window is still open' });
    }
  }
  return { slotId, org: ledger.mspId, buses };
}
