/**
 * The operators' side of the soak, through the REST gateways: the DSO opens slots, has the
 * utilities publish their aggregates and dispatches λ; the market operator opens and clears
 * trading windows; each utility's meter head-end posts its prosumers' available energy and its
 * admin opens and funds accounts; the auditor reconciles the tokens. Every call is repeated while
 * the answer is "unavailable" or "not yet" (a gateway or peer down, a deadline not passed), until
 * its time is up; a CONFLICT after such a repeat means an earlier attempt took effect.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { NetworkDescription } from '@hems/network-client';
import { callGateway, type ApiResponse } from '@hems/testkit';
import { AUDITOR, MARKET, adminOf, meterOf } from '../day/auction-calls';
import type { Reconciliation } from './token-check';

export const DSO_OPERATOR = { mspId: 'DSOMSP', name: 'dso-operator' } as const;

const POLL_MS = 500;

interface ErrorBody {
  readonly code?: string;
  readonly message?: string;
}

const codeOf = (response: ApiResponse<unknown>): string | undefined =>
  (response.body as ErrorBody | undefined)?.code;

function unavailable(response: ApiResponse<unknown>): boolean {
  return [429, 500, 502, 503, 504].includes(response.status);
}

function notYet(response: ApiResponse<unknown>): boolean {
  return response.status === 404 || (response.status === 409 && codeOf(response) === 'FAILED_PRECONDITION');
}

interface FanOut {
  readonly utilities?: {
    readonly org: string;
    readonly statusCode: number;
    readonly result?: { readonly buses?: readonly { readonly outcome: string }[] };
  }[];
}

interface WindowView {
  readonly parts?: readonly { readonly released?: unknown }[];
}

/** After an answer that is not the one awaited: give it back (done), throw, or ask again. */
function afterAnswer(response: ApiResponse<unknown>, uncertain: boolean): 'conflict-done' | 'fail' | 'again' {
  if (uncertain && response.status === 409 && codeOf(response) === 'CONFLICT') {
    return 'conflict-done';
  }
  return unavailable(response) || notYet(response) ? 'again' : 'fail';
}

const describe = (response: ApiResponse<unknown>): string =>
  `${response.status} ${codeOf(response) ?? ''} ${(response.body as ErrorBody | undefined)?.message ?? ''}`;

export class OperatorError extends Error {
  override readonly name = 'OperatorError';
}

export class Operators {
  constructor(
    private readonly description: NetworkDescription,
    private readonly log: (line: string) => void,
  ) {}

  /**
   * Calls until `done(answer)`, repeating unavailable and not-yet answers and failed connections
   * until `giveUpAt`. A CONFLICT once an attempt may have taken effect counts as done.
   */
  private async persist<T>(
    what: string,
    gatewayMspId: string,
    as: { mspId: string; name: string },
    request: { method: string; path: string; body?: unknown },
    giveUpAt: number,
    done: (response: ApiResponse<T>) => boolean,
  ): Promise<ApiResponse<T> | undefined> {
    let uncertain = false;
    let last = 'no answer';
    for (;;) {
      try {
        const response = await callGateway<T>(
          this.description,
          gatewayMspId,
          as,
          request.method,
          request.path,
          request.body,
        );
        if (done(response)) {
          return response;
        }
        const next = afterAnswer(response, uncertain);
        if (next === 'conflict-done') {
          return undefined;
        }
        last = describe(response);
        if (next === 'fail') {
          throw new OperatorError(`${what}: ${last}`);
        }
        uncertain ||= unavailable(response);
      } catch (error) {
        if (error instanceof OperatorError) {
          throw error;
        }
        uncertain = true;
        last = error instanceof Error ? error.message : String(error);
      }
      if (Date.now() > giveUpAt) {
        throw new OperatorError(`${what}: gave up (${last})`);
      }
      await delay(POLL_MS);
    }
  }

  async openSlot(slotId: string, deadline: Date, giveUpAt: number): Promise<void> {
    await this.persist(
      `opening slot ${slotId}`,
      'DSOMSP',
      DSO_OPERATOR,
      {
        method: 'POST',
        path: '/v1/slots',
        body: { slotId, deadline: deadline.toISOString(), prices: { default: { lower: 20, upper: 80 } } },
      },
      giveUpAt,
      (response) => response.status === 201,
    );
  }

  /** The DSO asks every utility gateway to publish its aggregates until every bus is published. */
  async publishAggregates(slotId: string, giveUpAt: number): Promise<void> {
    await this.persist<FanOut>(
      `aggregating slot ${slotId}`,
      'DSOMSP',
      DSO_OPERATOR,
      { method: 'POST', path: `/v1/slots/${encodeURIComponent(slotId)}/aggregates` },
      giveUpAt,
      (response) =>
        response.status === 200 &&
        (response.body.utilities ?? []).every(
          (utility) =>
            utility.statusCode === 200 &&
            (utility.result?.buses ?? []).every(
              (bus) => bus.outcome === 'published' || bus.outcome === 'already published',
            ),
        ),
    );
  }

  async dispatch(slotId: string, giveUpAt: number): Promise<void> {
    await this.persist(
      `dispatching slot ${slotId}`,
      'DSOMSP',
      DSO_OPERATOR,
      { method: 'POST', path: `/v1/slots/${encodeURIComponent(slotId)}/dispatch`, body: { lambda: 0.5 } },
      giveUpAt,
      (response) => response.status === 201,
    );
  }

  async openWindow(
    windowId: string,
    times: { closesAt: Date; deliveryStart: Date; deliveryEnd: Date },
    giveUpAt: number,
  ): Promise<void> {
    await this.persist(
      `opening window ${windowId}`,
      MARKET.mspId,
      MARKET,
      {
        method: 'POST',
        path: '/v1/windows',
        body: {
          windowId,
          deliverySlotId: windowId,
          deliveryStart: times.deliveryStart.toISOString(),
          deliveryEnd: times.deliveryEnd.toISOString(),
          closesAt: times.closesAt.toISOString(),
          pricingRule: 'pay-as-clear',
        },
      },
      giveUpAt,
      (response) => response.status === 201,
    );
  }

  /** The utility's meter head-end posts what each of its prosumers may offer in the window. */
  async postAvailability(
    mspId: string,
    windowId: string,
    homeIds: readonly string[],
    giveUpAt: number,
  ): Promise<void> {
    if (homeIds.length === 0) {
      return;
    }
    await this.persist(
      `${mspId}: posting available energy for ${windowId}`,
      mspId,
      meterOf(mspId),
      {
        method: 'POST',
        path: `/v1/windows/${encodeURIComponent(windowId)}/available-energy`,
        body: { availability: homeIds.map((homeId) => ({ homeId, energyKwh: 0.2 })) },
      },
      giveUpAt,
      (response) => response.status === 200,
    );
  }

  /** The market operator clears the window once every utility revealed (or from revealBy on). */
  async clearWindow(windowId: string, giveUpAt: number): Promise<void> {
    await this.persist(
      `clearing ${windowId}`,
      MARKET.mspId,
      MARKET,
      { method: 'POST', path: `/v1/windows/${encodeURIComponent(windowId)}/clearing` },
      giveUpAt,
      (response) => response.status === 200,
    );
  }

  /** Waits until every utility released its escrows of the cleared window (its gateway does it). */
  async awaitRelease(windowId: string, giveUpAt: number): Promise<boolean> {
    try {
      await this.persist<WindowView>(
        `waiting for the escrow release of ${windowId}`,
        MARKET.mspId,
        MARKET,
        { method: 'GET', path: `/v1/windows/${encodeURIComponent(windowId)}` },
        giveUpAt,
        (response) =>
          response.status === 200 && (response.body.parts ?? []).every((part) => part.released !== undefined),
      );
      return true;
    } catch (error) {
      this.log(String(error));
      return false;
    }
  }

  /** Opens the home's account (kept when it exists) and tops its balance up to `topUp` currency. */
  async fundAccount(mspId: string, homeId: string, missingCurrency: number, giveUpAt: number): Promise<void> {
    if (missingCurrency <= 0) {
      return;
    }
    await this.persist(
      `${mspId}: depositing for ${homeId}`,
      mspId,
      adminOf(mspId),
      { method: 'POST', path: '/v1/accounts/deposits', body: { homeId, amount: String(missingCurrency) } },
      giveUpAt,
      (response) => response.status === 201,
    );
  }

  async openAccount(mspId: string, homeId: string, giveUpAt: number): Promise<void> {
    await this.persist(
      `${mspId}: opening an account for ${homeId}`,
      mspId,
      adminOf(mspId),
      { method: 'POST', path: '/v1/accounts', body: { homeId } },
      giveUpAt,
      // 409 CONFLICT: the home has an account from an earlier run.
      (response) => response.status === 201 || (response.status === 409 && codeOf(response) === 'CONFLICT'),
    );
  }

  async reconciliation(giveUpAt: number): Promise<Reconciliation> {
    const response = await this.persist<Reconciliation>(
      'reconciling the tokens',
      AUDITOR.mspId,
      AUDITOR,
      { method: 'GET', path: '/v1/accounts/reconciliation' },
      giveUpAt,
      (answer) => answer.status === 200,
    );
    if (response === undefined) {
      throw new OperatorError('reconciling the tokens: no answer');
    }
    return response.body;
  }
}
