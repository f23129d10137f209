/**
 * A simulated home of the soak: a bench device (its own key and certificate from its utility's
 * CA, scripts/bench/lib/devices.ts) behind the device client, HemsClient, with the client's retries
 * (same payload, signature and Idempotency-Key on each). Like a real device it keeps each signed
 * item until it has a definite answer: after the client gives up on a transient failure it sends
 * the same item again (same key) until the item's time is up; when the gateway says the key is in
 * doubt (it died while running it) it sends the same signed payload with a new key, which the
 * gateway answers from the ledger (a forecast's replay) or the chaincode refuses as done (a
 * report's or order's nonce). Every item and answer goes to the ItemLog.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import {
  GatewayApiError,
  GatewayConnectionError,
  HemsClient,
  type AccountInfo,
  type SignedSubmission,
} from '@hems/device-client';
import type { NetworkDescription } from '@hems/network-client';
import { gatewayCaPem, gatewayUrl } from '@hems/testkit';
import type { BenchDevice } from '../bench/lib/devices';
import { randomRange } from '../bench/lib/forecasts';
import { seededRandom } from '../bench/lib/random';
import type { ItemLog, NewItem, SentItem } from './item-log';

/** Pause between two sends of the same item after the client gave up. */
const RESEND_DELAY_MS = 1000;

/** The soak's orders: bids far below every offer's minimum price, so nothing ever trades. */
export const BID = { side: 'bid', energyKwh: 0.1, limitPrice: 10 } as const;
export const OFFER = { side: 'offer', energyKwh: 0.1, limitPrice: 900 } as const;

function isTransient(error: unknown): boolean {
  return (error instanceof GatewayApiError || error instanceof GatewayConnectionError) && error.transient;
}

function codeOf(error: unknown): string {
  if (error instanceof GatewayApiError) {
    return `${error.statusCode} ${error.code}`;
  }
  return error instanceof GatewayConnectionError ? error.code : 'ERROR';
}

/**
 * What a device does after a failed send of an item:
 * - `same-key`: a transient failure; send it again unchanged (the gateway runs a key once)
 * - `new-key`: the gateway died while running it (IDEMPOTENCY_KEY_IN_DOUBT), failed inside (500),
 *   or a forecast's nonce is in a batch still on its way (CONFLICT after an uncertain attempt):
 *   the same signed payload with a new key, which the gateway answers with the first receipt of
 *   a stored forecast, and the chaincode refuses for a stored report or order
 * - `stored-earlier`: a report's or order's CONFLICT after an uncertain attempt: its nonce is
 *   used, so an earlier attempt stored it; the device was never told so
 * - `refused`: a definite refusal, nothing stored
 */
export function nextStep(
  error: unknown,
  item: Pick<SentItem, 'kind' | 'attempts' | 'inDoubt'>,
): 'same-key' | 'new-key' | 'stored-earlier' | 'refused' {
  const uncertain = item.attempts > 1 || item.inDoubt;
  const status = error instanceof GatewayApiError ? error.statusCode : 0;
  const code = error instanceof GatewayApiError ? error.code : '';
  if (code === 'CONFLICT' && uncertain) {
    return item.kind === 'forecast' ? 'new-key' : 'stored-earlier';
  }
  if (code === 'IDEMPOTENCY_KEY_IN_DOUBT' || status === 500) {
    return 'new-key';
  }
  return isTransient(error) ? 'same-key' : 'refused';
}

/** What a send of one signed item answers. */
interface Receipt {
  readonly txId: string;
  readonly replayed: boolean;
}

export class SoakHome {
  readonly mspId: string;
  readonly bus: string;
  readonly homeId: string;
  readonly side: 'bid' | 'offer';
  private readonly client: HemsClient;
  private readonly random: () => number;

  constructor(
    description: NetworkDescription,
    device: BenchDevice,
    index: number,
    private readonly log: ItemLog,
  ) {
    this.mspId = device.mspId;
    this.bus = device.bus;
    this.homeId = device.homeId;
    // Devices are spread round-robin over four (utility, bus) pairs: alternate sides per round,
    // so every pair has bidders and sellers.
    this.side = Math.floor(index / 4) % 2 === 0 ? 'bid' : 'offer';
    this.random = seededRandom(index + 1);
    this.client = new HemsClient({
      gatewayUrl: gatewayUrl(device.mspId),
      gatewayCaPem: gatewayCaPem(description, device.mspId),
      certificatePem: device.certificatePem,
      privateKeyPem: device.privateKeyPem,
      timeoutMs: 30_000,
      retry: {
        attempts: 6,
        initialDelayMs: 250,
        maxDelayMs: 4000,
        onRetry: () => this.log.failure(this.mspId),
      },
    });
  }

  private item(kind: NewItem['kind'], key: string, extra: Partial<NewItem> = {}): SentItem {
    return this.log.add({ kind, mspId: this.mspId, bus: this.bus, homeId: this.homeId, key, ...extra });
  }

  /**
   * Sends `signed` until a definite answer or `giveUpAt`, as `nextStep` decides after each
   * failure.
   */
  private async deliver<S extends SignedSubmission>(
    item: SentItem,
    signed: S,
    send: (signed: S) => Promise<Receipt>,
    giveUpAt: number,
  ): Promise<void> {
    let current = signed;
    for (;;) {
      item.attempts += 1;
      try {
        const receipt = await send(current);
        this.log.acknowledged(item, receipt.txId, receipt.replayed);
        return;
      } catch (error) {
        this.log.failure(this.mspId);
        item.error = codeOf(error);
        const step = nextStep(error, item);
        if (step === 'stored-earlier' || (step !== 'refused' && Date.now() + RESEND_DELAY_MS > giveUpAt)) {
          item.outcome = 'unacknowledged';
          return;
        }
        if (step === 'refused') {
          item.outcome = 'refused';
          return;
        }
        if (step === 'new-key') {
          item.inDoubt ||= error instanceof GatewayApiError && error.code === 'IDEMPOTENCY_KEY_IN_DOUBT';
          current = { ...current, idempotencyKey: randomUUID() };
        }
        await delay(RESEND_DELAY_MS);
      }
    }
  }

  /** Signs a fresh range for the slot and delivers it. */
  async submitForecast(slotId: string, giveUpAt: number): Promise<void> {
    const range = randomRange(this.random);
    const signed = this.client.signForecast(slotId, range);
    const { nonce } = JSON.parse(signed.payload) as { nonce: string };
    const item = this.item('forecast', slotId, { forecast: { ...range, nonce } });
    await this.deliver(item, signed, (s) => this.client.submitSignedForecast(s), giveUpAt);
  }

  /**
   * Reads its allowed power (retrying while the gateway does not know the dispatch yet or is
   * away), draws 90 % of it and reports that, signed. Nothing to report without a forecast in
   * effect (404) or when the dispatch never becomes readable before `giveUpAt`.
   */
  async reportConsumption(slotId: string, giveUpAt: number): Promise<void> {
    let allowedKw: number | undefined;
    while (allowedKw === undefined) {
      try {
        allowedKw = (await this.client.getDispatch(slotId)).allowedKw;
      } catch (error) {
        if (error instanceof GatewayApiError && error.statusCode === 404) {
          return;
        }
        const retry = isTransient(error) || (error instanceof GatewayApiError && error.statusCode === 409);
        if (!retry || Date.now() + RESEND_DELAY_MS > giveUpAt) {
          return;
        }
        await delay(RESEND_DELAY_MS);
      }
    }
    const drawnKw = Math.floor(allowedKw * 900) / 1000;
    const signed = this.client.signConsumption(slotId, drawnKw);
    const item = this.item('consumption', slotId);
    await this.deliver(item, signed, (s) => this.client.submitSignedConsumption(s), giveUpAt);
  }

  /** Signs its order for the window (a bid or an offer, never crossing) and delivers it. */
  async submitOrder(windowId: string, giveUpAt: number): Promise<void> {
    const signed = this.client.signOrder(windowId, this.side === 'bid' ? BID : OFFER);
    const item = this.item('order', windowId, { side: this.side });
    await this.deliver(item, signed, (s) => this.client.submitSignedOrder(s), giveUpAt);
  }

  /** Its token account, as its utility's relay looks it up; retried while the gateway is away. */
  async account(giveUpAt: number): Promise<AccountInfo> {
    for (;;) {
      try {
        return await this.client.getMyAccount();
      } catch (error) {
        if (!isTransient(error) || Date.now() > giveUpAt) {
          throw error;
        }
        await delay(RESEND_DELAY_MS);
      }
    }
  }

  close(): void {
    this.client.close();
  }
}
