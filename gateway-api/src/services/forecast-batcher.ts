import { HttpError } from '../http/errors';
import type { Ledger } from '../ledger/ports';
import { forecastIdentity, ForecastReplayIndex, type ForecastIdentity } from './forecast-replays';
import { entryOf, RelayBatcher, type RelayBatchOptions, type RelayItem } from './relay-batcher';

/** When a batch goes to the ledger (see RelayBatchOptions). */
export type ForecastBatchOptions = RelayBatchOptions;

/** A device-signed forecast as its device sent it, with what mutual TLS proved of the device. */
export interface DeviceForecast {
  readonly payload: string;
  /** Raw signature bytes; undefined for a relay-attested forecast (an OpenADR VEN's). */
  readonly signature: Uint8Array | undefined;
  readonly certificatePem: string;
  readonly homeId: string;
  readonly bus: string;
}

/** A device's own answer once its forecast committed. */
export interface ForecastAcceptance {
  readonly slotId: string;
  readonly txId: string;
  readonly acceptedAt: string;
  /** True when this answers a retry of a forecast stored earlier (the first receipt). */
  readonly replayed: boolean;
}

/** Told of the accepted forecasts of each committed batch (e.g. to learn their home references). */
export type AcceptedForecasts = (slotId: string, accepted: readonly DeviceForecast[]) => void;

interface ForecastItem extends RelayItem {
  readonly forecast: DeviceForecast;
  readonly identity: ForecastIdentity | undefined;
}

/**
 * The relay's micro-batching of device-signed forecasts into SubmitForecasts transactions
 * (RelayBatcher), with replays refused before batching: a retry of a stored forecast is answered
 * with its first receipt, a reused nonce is refused. The nonces come from the utility's own peer
 * the first time a slot is used (ForecastReplayIndex), so a restart forgets none.
 */
export class ForecastBatcher {
  private readonly batcher: RelayBatcher<ForecastItem>;

  constructor(
    ledger: Ledger,
    options: ForecastBatchOptions = {},
    onAccepted: AcceptedForecasts = () => undefined,
    private readonly replays = new ForecastReplayIndex(ledger),
  ) {
    this.batcher = new RelayBatcher<ForecastItem>(
      ledger,
      {
        transaction: { contract: 'timeslot', name: 'SubmitForecasts' },
        timeField: 'acceptedAt',
        settled: (slotId, item, acceptance) => {
          if (item.identity !== undefined) {
            this.replays.settle(
              slotId,
              item.identity,
              acceptance === undefined
                ? undefined
                : { txId: acceptance.txId, acceptedAt: acceptance.at, leaf: item.identity.leaf },
            );
          }
        },
        accepted: (slotId, items) =>
          onAccepted(
            slotId,
            items.map((item) => item.forecast),
          ),
      },
      options,
    );
  }

  async submit(slotId: string, forecast: DeviceForecast): Promise<ForecastAcceptance> {
    const identity = forecastIdentity(forecast.payload, forecast.bus);
    if (identity !== undefined) {
      const verdict = await this.replays.claim(slotId, identity);
      if (verdict.kind === 'stored') {
        return { slotId, txId: verdict.at.txId, acceptedAt: verdict.at.acceptedAt, replayed: true };
      }
      if (verdict.kind !== 'fresh') {
        throw new HttpError(
          409,
          'CONFLICT',
          verdict.kind === 'pending'
            ? 'a forecast with this nonce is being submitted; wait for its answer'
            : 'the payload nonce was already used: every forecast needs a fresh random nonce',
        );
      }
    }
    const accepted = await this.batcher.submit(slotId, {
      homeId: forecast.homeId,
      entry: entryOf(forecast.payload, forecast.signature, forecast.certificatePem),
      forecast,
      identity,
    });
    return { slotId, txId: accepted.txId, acceptedAt: accepted.at, replayed: false };
  }

  close(): Promise<void> {
    return this.batcher.close();
  }
}
