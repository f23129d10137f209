import type { Ledger } from '../ledger/ports';
import { RelayBatcher, signedEntry, type RelayBatchOptions, type RelayItem } from './relay-batcher';

/** A device-signed order or cancellation as its device sent it, with the home mutual TLS proved. */
export interface DeviceOrder {
  readonly payload: string;
  /** Raw signature bytes. */
  readonly signature: Uint8Array;
  readonly certificatePem: string;
  readonly homeId: string;
}

/** A device's own answer once its order or cancellation committed. */
export interface OrderAcceptance {
  readonly windowId: string;
  readonly txId: string;
  /** The transaction time: when the order was accepted or cancelled. */
  readonly at: string;
}

/**
 * The relay's micro-batching of device-signed orders (SubmitOrders) and cancellations
 * (CancelOrders), one batcher each. The chaincode refuses a replayed, second or unfunded item
 * alone, so nothing is refused here before batching; a home's later item goes into a later batch.
 */
export class OrderBatcher {
  private readonly orders: RelayBatcher<RelayItem>;
  private readonly cancellations: RelayBatcher<RelayItem>;

  constructor(ledger: Ledger, options: RelayBatchOptions = {}) {
    this.orders = new RelayBatcher(
      ledger,
      { transaction: { contract: 'auction', name: 'SubmitOrders' }, timeField: 'at' },
      options,
    );
    this.cancellations = new RelayBatcher(
      ledger,
      { transaction: { contract: 'auction', name: 'CancelOrders' }, timeField: 'at' },
      options,
    );
  }

  /** Resolves once the order committed; rejects with its own refusal. */
  submit(windowId: string, order: DeviceOrder): Promise<OrderAcceptance> {
    return this.relay(this.orders, windowId, order);
  }

  /** Resolves once the cancellation committed; rejects with its own refusal. */
  cancel(windowId: string, cancellation: DeviceOrder): Promise<OrderAcceptance> {
    return this.relay(this.cancellations, windowId, cancellation);
  }

  async close(): Promise<void> {
    await Promise.all([this.orders.close(), this.cancellations.close()]);
  }

  private async relay(
    batcher: RelayBatcher<RelayItem>,
    windowId: string,
    order: DeviceOrder,
  ): Promise<OrderAcceptance> {
    const accepted = await batcher.submit(windowId, {
      homeId: order.homeId,
      entry: signedEntry(order.payload, order.signature, order.certificatePem),
    });
    return { windowId, txId: accepted.txId, at: accepted.at };
  }
}
