import type { Ledger } from '../ledger/ports';
import { AllowedPowerBook } from './allowed-powers';
import { ConsumptionBatcher } from './consumption-batcher';
import { ForecastBatcher } from './forecast-batcher';
import { OrderBatcher } from './order-batcher';
import type { RelayBatchOptions } from './relay-batcher';

/** What a utility gateway's relay keeps in memory for its devices. */
export interface RelayServices {
  readonly allowedPowers: AllowedPowerBook;
  /** Undefined when device items are not batched (one SubmitForecast each). */
  readonly forecastBatcher?: ForecastBatcher;
  /** Undefined when device items are not batched (one ReportConsumption each). */
  readonly consumptionBatcher?: ConsumptionBatcher;
  /** Undefined when device items are not batched (one SubmitOrder or CancelOrder each). */
  readonly orderBatcher?: OrderBatcher;
}

/**
 * The relay's allowed-power book and, with `batching`, its forecast, consumption and order batchers, wired
 * so the book learns the home references of every committed forecast batch (one evaluation each).
 */
export function createRelayServices(
  ledger: Ledger,
  batching: RelayBatchOptions | undefined,
  log?: { warn(details: object, message: string): void },
): RelayServices {
  const allowedPowers = new AllowedPowerBook(ledger);
  if (batching === undefined || !ledger.identities.includes('relay')) {
    return { allowedPowers };
  }
  const forecastBatcher = new ForecastBatcher(ledger, batching, (slotId, accepted) => {
    allowedPowers.learn(slotId, accepted).catch((error: unknown) => {
      // A device whose reference is not learned costs one GetHomeRef on its first read.
      log?.warn({ err: { message: (error as Error).message } }, 'home references not learned');
    });
  });
  return {
    allowedPowers,
    forecastBatcher,
    consumptionBatcher: new ConsumptionBatcher(ledger, batching),
    orderBatcher: new OrderBatcher(ledger, batching),
  };
}
