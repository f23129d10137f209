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
  type SignedBody,
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

const consumptionBody = signedBody(
  'The exact JSON text the device signed: {"slotId","drawnKw","nonce"} (kW drawn during the slot, at most 3 decimals; base64 nonce of >= 16 bytes)',
);

/** Per-bus outcomes of publishing this utility's aggregates or consumption summaries. */
const publicationResponse = {
  type: 'object',
  required: ['slotId', 'org', 'buses'],
  properties: {
    slotId: { type: 'string' },
    org: { type: 'string' },
    buses: {
      type: 'array',
      items: {
        type: 'object',
        required: ['bus', 'outcome'],
        properties: {
          bus: { type: 'string' },
          outcome: { type: 'string' },
          homes: { type: 'integer' },
          withheld: { type: 'boolean' },
        },
      },
    },
  },
} as const;

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

/**
 * Relays a device's signed payload as the utility's relay identity on its own peer: the proposal's
 * only argument is the slot id, the payload (private values), signature and certificate are
 * transient. Shared by forecasts and consumption reports.
 */
async function relaySignedPayload(
  ledger: Ledger,
  request: FastifyRequest<{ Params: SlotIdParams; Body: SignedBody }>,
  transaction: 'SubmitForecast' | 'ReportConsumption',
): Promise<{ result: Uint8Array; transactionId: string }> {
  requireOwnDevice(ledger, request);
  return ledger.contract('relay').submit(transaction, {
    arguments: [request.params.slotId],
    transientData: {
      payload: Buffer.from(request.body.payload, 'utf8'),
      signature: signatureBytes(request.body.signature),
      certificate: certificateTransient(request),
    },
    endorsingOrganizations: [ledger.mspId],
  });
}

/**
 * Who may make a utility gateway publish its own per-bus records of a slot: the DSO, or the
 * utility's own admin or relay; the gateway must hold the utility's relay identity.
 */
function requireOwnPublication(ledger: Ledger, request: FastifyRequest, what: string): void {
  if (request.caller.role !== 'dso' && request.caller.mspId !== ledger.mspId) {
    throw new HttpError(403, 'FORBIDDEN', `only the DSO or ${ledger.mspId} itself may trigger its ${what}`);
  }
  requireIdentity(ledger, 'relay', what);
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

    app.post<{ Params: SlotIdParams; Body: SignedBody }>(
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
        const submitted = await relaySignedPayload(ledger, request, 'SubmitForecast');
        void reply.status(201).header('x-transaction-id', submitted.transactionId);
        return decodeJson(submitted.result);
      },
    );

    app.post<{ Params: SlotIdParams; Body: SignedBody }>(
      '/v1/slots/:slotId/consumption',
      {
        config: { roles: ['hems'] },
        schema: {
          tags: ['slots'],
          summary:
            "HEMS device: report its signed drawn power after dispatch (once per slot, before settlement); relayed as the utility's relay identity, checked against the home's allowed power on the utility's peer",
          params: slotIdParams,
          body: consumptionBody,
          response: {
            201: {
              type: 'object',
              required: ['slotId', 'txId', 'recordedAt'],
              properties: {
                slotId: { type: 'string' },
                txId: { type: 'string' },
                recordedAt: { type: 'string' },
              },
            },
          },
        },
      },
      async (request, reply) => {
        const submitted = await relaySignedPayload(ledger, request, 'ReportConsumption');
        void reply.status(201).header('x-transaction-id', submitted.transactionId);
        // Only the receipt: the drawn power stays in the utility's private collection.
        const receipt = decodeJson<{ slotId: string; txId: string; recordedAt: string }>(submitted.result);
        return { slotId: receipt.slotId, txId: receipt.txId, recordedAt: receipt.recordedAt };
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
        // The DSO's own gateway holds no utility identity: it asks every utility gateway.
        if (!ledger.identities.includes('relay') && fanOut !== undefined && request.caller.role === 'dso') {
          return { slotId: request.params.slotId, utilities: await fanOut(request.params.slotId) };
        }
        requireOwnPublication(ledger, request, 'aggregation');
        return publishOwnAggregates(ledger, request.params.slotId);
      },
    );

    app.post<{ Params: SlotIdParams }>(
      '/v1/slots/:slotId/consumption-summaries',
      {
        config: { roles: ['dso', 'admin', 'relay'] },
        schema: {
          tags: ['slots'],
          summary:
            "Publish this utility's per-bus consumption summaries of a dispatched slot (Σ drawn kW and non-compliant homes, only the home count below k); asked of each utility gateway",
          params: slotIdParams,
          response: { 200: publicationResponse },
        },
      },
      async (request) => {
        requireOwnPublication(ledger, request, 'consumption summaries');
        return publishOwnConsumption(ledger, request.params.slotId);
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

/** What publishing one of the org's per-bus records of a slot came to. */
export interface BusPublicationOutcome {
  bus: string;
  outcome: string;
  homes?: number;
  withheld?: boolean;
}

export interface OwnPublication {
  slotId: string;
  org: string;
  buses: BusPublicationOutcome[];
}

type OwnAggregate = SlotView['aggregates'][number];

/**
 * Publishes one record per bus of this org's aggregates in a slot, all from one listing of the
 * org's private records on its own peer: each publication reads them all, so the ledger never
 * shows which record belongs to which bus. A FAILED_PRECONDITION refusal is a per-bus outcome.
 */
async function publishPerOwnBus(
  ledger: Ledger,
  slotId: string,
  steps: {
    list: string;
    listArguments: string[];
    publish: string;
    /** The outcome of a bus with nothing to do, or undefined to publish it. */
    done: (aggregate: OwnAggregate) => BusPublicationOutcome | undefined;
    /** The outcome of a bus the chaincode refused as premature (its message, never private). */
    refused: (message: string) => string;
    /** The published home count and withholding, from the publication's answer. */
    published: (result: Uint8Array) => { homes: number; withheld: boolean };
  },
): Promise<OwnPublication> {
  const slot = await loadSlot(ledger, slotId);
  const relay = ledger.contract('relay');
  const buses: BusPublicationOutcome[] = [];
  let refs: string[] | undefined;
  for (const aggregate of slot.aggregates.filter((agg) => agg.org === ledger.mspId)) {
    const done = steps.done(aggregate);
    if (done !== undefined) {
      buses.push(done);
      continue;
    }
    refs ??= decodeJson<{ refs: string[] }>(
      await relay.evaluate(steps.list, { arguments: [slotId, ...steps.listArguments] }),
    ).refs;
    try {
      const submitted = await relay.submit(steps.publish, {
        arguments: [slotId, aggregate.bus],
        transientData: { refs: Buffer.from(JSON.stringify(refs)) },
        endorsingOrganizations: [ledger.mspId],
      });
      const published = steps.published(submitted.result);
      buses.push({
        bus: aggregate.bus,
        outcome: 'published',
        homes: published.homes,
        withheld: published.withheld,
      });
    } catch (error) {
      const refusal = chaincodeRefusal(error);
      if (refusal?.code !== 'FAILED_PRECONDITION') {
        throw error;
      }
      // The refusal's message starts with its code; the outcome gives the reason alone.
      const reason = refusal.message.slice(refusal.code.length + 1).trim();
      buses.push({ bus: aggregate.bus, outcome: steps.refused(reason) });
    }
  }
  return { slotId, org: ledger.mspId, buses };
}

/**
 * What a utility gateway does at a slot's deadline or when the DSO asks: for each of its
 * pending aggregates, list its forecasts on its own peer and publish their sums. A bus that may not
 * close yet (deadline not passed, enrolled homes missing) is reported, not failed.
 */
export function publishOwnAggregates(ledger: Ledger, slotId: string): Promise<OwnPublication> {
  return publishPerOwnBus(ledger, slotId, {
    list: 'ListForecastRefs',
    listArguments: [''],
    publish: 'PublishAggregate',
    done: (aggregate) =>
      aggregate.published
        ? {
            bus: aggregate.bus,
            outcome: 'already published',
            homes: aggregate.homes ?? 0,
            withheld: aggregate.withheld ?? false,
          }
        : undefined,
    refused: () => 'not yet: the window is still open',
    published: (result) => decodeJson<{ homes: number; withheld: boolean }>(result),
  });
}

/**
 * After dispatch, for each bus of its aggregates: list the org's consumption reports on its own
 * peer and publish the bus's summary. Every bus is (re-)published, since more homes may have
 * reported; a re-publication the chaincode refuses (fewer than k new homes, not dispatched,
 * settled) is reported with the chaincode's reason, not failed.
 */
export function publishOwnConsumption(ledger: Ledger, slotId: string): Promise<OwnPublication> {
  return publishPerOwnBus(ledger, slotId, {
    list: 'ListConsumptionRefs',
    listArguments: [],
    publish: 'PublishConsumption',
    done: () => undefined,
    refused: (message) => `not published: ${message}`,
    // PublishConsumption answers the whole aggregate record with its new consumption summary.
    published: (result) => {
      const summary = decodeJson<{ consumption?: { homes?: unknown; withheld?: unknown } }>(
        result,
      ).consumption;
      if (typeof summary?.homes !== 'number' || typeof summary.withheld !== 'boolean') {
        throw new HttpError(502, 'BAD_LEDGER_RESPONSE', 'PublishConsumption answered no consumption summary');
      }
      return { homes: summary.homes, withheld: summary.withheld };
    },
  });
}
