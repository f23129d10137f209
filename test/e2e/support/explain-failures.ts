import { describeFabricError } from '@hems/network-client';

/** Mocha root hook: a failed test's Fabric error is printed with every endorser's answer. */
export const mochaHooks = {
  afterEach(this: Mocha.Context): void {
    const error = this.currentTest?.err;
    if (this.currentTest?.state === 'failed' && error !== undefined) {
      console.error(`\n  Fabric error details: ${describeFabricError(error)}`);
    }
  },
};
