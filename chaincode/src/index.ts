/*
 * Chaincode entry point. fabric-chaincode-node (start/server) loads `contracts` from here; the
 * first contract is the default, so timeslot transactions are called by their bare names
 * (OpenSlot, SubmitForecast, ...) and the others as governance:<Name>, auction:<Name>, token:<Name>,
 * dr:<Name>.
 */
import { TimeslotContract } from './timeslot/timeslot-contract';
import { GovernanceContract } from './governance/governance-contract';
import { AuctionContract } from './auction/auction-contract';
import { TokenContract } from './token/token-contract';
import { DrContract } from './dr/dr-contract';

export { TimeslotContract } from './timeslot/timeslot-contract';
export { GovernanceContract } from './governance/governance-contract';
export { AuctionContract } from './auction/auction-contract';
export { TokenContract } from './token/token-contract';
export { DrContract } from './dr/dr-contract';

export const contracts: (
  | typeof TimeslotContract
  | typeof GovernanceContract
  | typeof AuctionContract
  | typeof TokenContract
  | typeof DrContract
)[] = [TimeslotContract, GovernanceContract, AuctionContract, TokenContract, DrContract];
