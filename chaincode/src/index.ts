/*
 * Chaincode entry point. fabric-chaincode-node (start/server) loads `contracts` from here; the
 * first contract is the default, so timeslot transactions are called by their bare names
 * (OpenSlot, SubmitForecast, ...) and the others as governance:<Name>, auction:<Name>, token:<Name>.
 */
import { TimeslotContract } from './contracts/timeslot-contract';
import { GovernanceContract } from './contracts/governance-contract';
import { AuctionContract } from './contracts/auction-contract';
import { TokenContract } from './contracts/token-contract';

export { TimeslotContract } from './contracts/timeslot-contract';
export { GovernanceContract } from './contracts/governance-contract';
export { AuctionContract } from './contracts/auction-contract';
export { TokenContract } from './contracts/token-contract';

export const contracts: (
  typeof TimeslotContract | typeof GovernanceContract | typeof AuctionContract | typeof TokenContract
)[] = [TimeslotContract, GovernanceContract, AuctionContract, TokenContract];
