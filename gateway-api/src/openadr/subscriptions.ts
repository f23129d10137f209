import { randomBytes } from 'node:crypto';
import type { VtnClient, VtnClients } from './auth/clients';
import { callbackRefusal, mayDeliver, type CallbackPolicy } from './callback-policy';
import { badRequest, forbidden, notFound, VtnProblem } from './problem';
import type { SlotListener } from './slot-directory';
import type { VtnService } from './vtn-service';
import type { OpenAdrVersion } from './versions';

type Json = Record<string, unknown>;

interface StoredSubscription {
  readonly owner: string;
  readonly version: OpenAdrVersion;
  readonly object: Json;
}

/** Subscriptions per VEN: a VEN needs one or two (events, perhaps reports). */
const MAX_PER_CLIENT = 20;
/** Callbacks per subscription: a VEN needs one or two. */
const MAX_OPERATIONS = 10;
const CREATE_WORDS = new Set(['POST', 'CREATE']);

export interface SubscriptionOptions {
  /** The VENs still served (registered, not revoked, home certificate good): only they are notified. */
  readonly clients: Pick<VtnClients, 'usableVen'>;
  /** Allows http: callback URLs (development and tests only); https: always. */
  readonly allowHttpCallbacks?: boolean;
  /** Resolves a callback's host (tests); the system resolver by default. */
  readonly resolve?: (host: string) => Promise<readonly string[]>;
  readonly fetch?: typeof fetch;
  readonly log?: { warn(details: object, message: string): void };
  readonly now?: () => Date;
}

/**
 * VENs' subscriptions with webhook callbacks: a VEN subscribed to EVENT creations is sent the
 * slot's price event when a slot opens and its own dispatch event when the dispatch is published,
 * with its own bearer token. Kept in this gateway instance's memory.
 */
export class Subscriptions implements SlotListener {
  private readonly subscriptions = new Map<string, StoredSubscription>();
  private service: VtnService | undefined;

  constructor(private readonly options: SubscriptionOptions) {}

  attach(service: VtnService): void {
    this.service = service;
  }

  /**
   * A VEN's subscriptions made through one version: each version has its own object shapes (3.1.0
   * targets are strings, 3.0.1 requires programID), so a subscription is seen through its own.
   */
  list(version: OpenAdrVersion, client: VtnClient): Json[] {
    return [...this.subscriptions.values()]
      .filter((s) => s.owner === client.clientId && s.version === version)
      .map((s) => s.object);
  }

  get(version: OpenAdrVersion, client: VtnClient, id: string): Json {
    const found = this.subscriptions.get(id);
    if (found?.owner !== client.clientId || found.version !== version) {
      throw notFound('no such subscription');
    }
    return found.object;
  }

  create(version: OpenAdrVersion, client: VtnClient, body: Json, id?: string): Json {
    if (client.role !== 'ven') {
      throw forbidden('only a VEN subscribes here');
    }
    const held = [...this.subscriptions.values()].filter((s) => s.owner === client.clientId).length;
    if (id === undefined && held >= MAX_PER_CLIENT) {
      throw new VtnProblem(409, 'Conflict', `a VEN holds at most ${MAX_PER_CLIENT} subscriptions`);
    }
    this.checkCallbacks(body);
    const at = (this.options.now?.() ?? new Date()).toISOString();
    const previous = id === undefined ? undefined : this.get(version, client, id);
    const object: Json = {
      ...subscriptionMembers(body),
      id: id ?? `sub-${randomBytes(12).toString('base64url')}`,
      createdDateTime: previous?.createdDateTime ?? at,
      modificationDateTime: at,
      objectType: 'SUBSCRIPTION',
      ...(version === '3.1.0' ? { clientID: client.clientId } : {}),
    };
    this.subscriptions.set(object.id as string, { owner: client.clientId, version, object });
    return object;
  }

  delete(version: OpenAdrVersion, client: VtnClient, id: string): Json {
    const object = this.get(version, client, id);
    this.subscriptions.delete(id);
    return object;
  }

  private get policy(): CallbackPolicy {
    return {
      development: this.options.allowHttpCallbacks === true,
      ...(this.options.resolve === undefined ? {} : { resolve: this.options.resolve }),
    };
  }

  private checkCallbacks(body: Json): void {
    const operations = (body.objectOperations as Json[] | undefined) ?? [];
    if (operations.length > MAX_OPERATIONS) {
      throw badRequest(`a subscription holds at most ${MAX_OPERATIONS} objectOperations`);
    }
    for (const operation of operations) {
      const refusal = callbackRefusal(String(operation.callbackUrl), this.policy);
      if (refusal !== undefined) {
        throw badRequest(refusal);
      }
    }
  }

  opened(slotId: string): void {
    void this.notify(slotId, 'price');
  }

  dispatched(slotId: string): void {
    void this.notify(slotId, 'dispatch');
  }

  /**
   * Tells every subscribed VEN of a new event of `kind` in a slot it may see: the subscriptions
   * are notified side by side, so one slow callback does not hold back the others.
   */
  private async notify(slotId: string, kind: 'price' | 'dispatch'): Promise<void> {
    const service = this.service;
    if (service === undefined) {
      return;
    }
    await Promise.all(
      [...this.subscriptions.values()].map((subscription) =>
        this.notifyOne(service, subscription, slotId, kind),
      ),
    );
  }

  private async notifyOne(
    service: VtnService,
    subscription: StoredSubscription,
    slotId: string,
    kind: 'price' | 'dispatch',
  ): Promise<void> {
    const client = await this.clientOf(subscription.owner);
    const event =
      client === undefined
        ? undefined
        : await this.eventFor(service, subscription.version, client, slotId, kind);
    if (event === undefined) {
      return;
    }
    // Each callback URL is posted once per event, however many operations name it.
    const posted = new Set<string>();
    for (const operation of (subscription.object.objectOperations as Json[] | undefined) ?? []) {
      const objects = (operation.objects as unknown[] | undefined) ?? [];
      const operations = ((operation.operations as unknown[] | undefined) ?? []).map(String);
      const word = operations.find((op) => CREATE_WORDS.has(op));
      const url = String(operation.callbackUrl);
      if (objects.includes('EVENT') && word !== undefined && !posted.has(url)) {
        posted.add(url);
        await this.deliver(String(operation.callbackUrl), operation.bearerToken, {
          objectType: 'EVENT',
          operation: word,
          object: event,
        });
      }
    }
  }

  /** The subscriber's VEN as the bearer check would find it: none once revoked, or its home certificate. */
  private async clientOf(clientId: string): Promise<VtnClient | undefined> {
    const ven = await this.options.clients.usableVen(clientId).catch(() => undefined);
    return ven === undefined ? undefined : { role: 'ven', clientId, scope: '', ven };
  }

  private async eventFor(
    service: VtnService,
    version: OpenAdrVersion,
    client: VtnClient,
    slotId: string,
    kind: 'price' | 'dispatch',
  ): Promise<Json | undefined> {
    const events = await service.eventsOfSlot(version, client, slotId).catch(() => []);
    return events.find((event) => String(event.id).startsWith(`${kind}-`));
  }

  private async deliver(url: string, bearerToken: unknown, notification: Json): Promise<void> {
    try {
      if (!(await mayDeliver(url, this.policy))) {
        throw new Error('the callback does not resolve to public addresses only');
      }
      const response = await (this.options.fetch ?? fetch)(url, {
        method: 'POST',
        // A redirect could lead into the utility's own network: not followed.
        redirect: 'error',
        headers: {
          'content-type': 'application/json',
          ...(typeof bearerToken === 'string' ? { authorization: `Bearer ${bearerToken}` } : {}),
        },
        body: JSON.stringify(notification),
        signal: AbortSignal.timeout(10_000),
      });
      await response.arrayBuffer().catch(() => undefined);
    } catch {
      // The VEN's endpoint is its own: a failed delivery is logged without its address or body.
      this.options.log?.warn({ objectType: notification.objectType }, 'a subscription callback failed');
    }
  }
}

/**
 * What is kept of a subscription: the specification's members only, each callback with its own
 * members, not whatever else the body carried (a body may hold up to 256 KiB).
 */
function subscriptionMembers(body: Json): Json {
  const kept: Json = {};
  for (const name of ['clientName', 'programID', 'targets'] as const) {
    if (body[name] !== undefined) {
      kept[name] = body[name];
    }
  }
  kept.objectOperations = ((body.objectOperations as Json[] | undefined) ?? []).map((operation) => ({
    objects: operation.objects,
    operations: operation.operations,
    callbackUrl: operation.callbackUrl,
    // Always present (null when none): clients such as openadr3-client require the member.
    bearerToken: operation.bearerToken ?? null,
  }));
  return kept;
}
