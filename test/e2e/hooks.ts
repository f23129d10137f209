import { network, runScript } from './support/network';

/**
 * Root hooks of the end-to-end suite: a fresh network in its own state folder, the chaincode
 * deployed and bootstrapped exactly as `npm run network:up` does it, and everything stopped and
 * deleted afterwards (KEEP_E2E_NETWORK=1 keeps it running for inspection).
 */
export const mochaHooks = {
  async beforeAll(this: Mocha.Context): Promise<void> {
    this.timeout(30 * 60 * 1000); // a cold machine builds Fabric first
    await network('reset');
    await runScript('scripts/network/up.sh');
  },
  async afterAll(this: Mocha.Context): Promise<void> {
    this.timeout(120 * 1000);
    if (process.env.KEEP_E2E_NETWORK === '1') {
      console.error(
        'KEEP_E2E_NETWORK=1: the e2e network keeps running (npm run network:reset with HEMS_NETWORK_STATE)',
      );
      return;
    }
    await network('reset');
  },
};
