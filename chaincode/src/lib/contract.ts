import { Contract } from 'fabric-contract-api';
import type { ContractName } from '@hems/protocol';
import { HemsContext } from './context';

/**
 * A contract of the chaincode: named as the protocol names it, and running each transaction with a
 * HemsContext (the caller, the transaction time, the channel settings).
 */
export abstract class HemsContract extends Contract {
  protected constructor(name: ContractName) {
    super(name);
  }

  override createContext(): HemsContext {
    return new HemsContext();
  }
}
