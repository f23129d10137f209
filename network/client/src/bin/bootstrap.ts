#!/usr/bin/env node
// Registers the utilities' CA certificates, home-reference secrets and enrolment in the
// deployed chaincode. Run by `npm run network:up` after the chaincode is committed.
import { bootstrapChaincode } from '../bootstrap';
import { loadNetworkDescription } from '../network-description';

bootstrapChaincode(loadNetworkDescription()).then(
  () => console.log('chaincode bootstrap: done'),
  (error: unknown) => {
    console.error('chaincode bootstrap failed:', error instanceof Error ? error.message : error);
    process.exitCode = 1;
  },
);
