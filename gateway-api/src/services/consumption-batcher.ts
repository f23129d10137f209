import type { Ledger } from '../ledger/ports';
import { entryOf, RelayBatcher, type RelayBatchOptions, type RelayItem } from './relay-batcher';

/** A device-signed consumption report as its device sent it, and where its forecast is. */
export interface DeviceReport {
  readonly payload: string;
  /** Raw signature bytes; undefined for a relay-attested report (an OpenADR VEN's). */
  readonly signature: Uint8Array | undefined;
  readonly certificatePem: string;
  readonly homeId: string;
  /** The batch holding the home's forecast in effect (from the allowed-power table). */
  readonly forecastBatch: string;
}

/** A device's own answer once its report committed. */
export interface ReportAcceptance {
  readonly slotId: string;
  readonly txId: string;
  readonly recordedAt: string;
}

/**
 * The relay's micro-batching of device-signed consumption reports into ReportConsumptions
 * transactions (RelayBatcher). The chaincode refuses a replayed or second report of a home item by
 * item, so nothing is refused here before batching.
 */
export class ConsumptionBatcher {
  private readonly batcher: RelayBatcher<RelayItem>;

  constructor(ledger: Ledger, options: RelayBatchOptions = {}) {
    this.batcher = new RelayBatcher(
      ledger,
      { transaction: { contract: 'timeslot', name: 'ReportConsumptions' }, timeField: 'recordedAt' },
      options,
    );
  }

  async submit(slotId: string, report: DeviceReport): Promise<ReportAcceptance> {
    const accepted = await this.batcher.submit(slotId, {
      homeId: report.homeId,
      entry: {
        ...entryOf(report.payload, report.signature, report.certificatePem),
        forecastBatch: report.forecastBatch,
      },
    });
    return { slotId, txId: accepted.txId, recordedAt: accepted.at };
  }

  close(): Promise<void> {
    return this.batcher.close();
  }
}
