/**
 * The soak's four REST gateways (DSO, both utilities, regulator), started as the bench starts its
 * own (testkit's GatewayProcesses, one state folder per gateway under `<network state>/soak/`, on
 * the ports set with useGatewayPorts), and one of them killed and started again: its idempotency
 * journal and its state folder survive, as they would on a host that lost the process.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { NetworkDescription } from '@hems/network-client';
import { GatewayProcesses } from '@hems/testkit';

export const GATEWAY_ORGS: readonly string[] = ['DSOMSP', 'UtilityAMSP', 'UtilityBMSP', 'RegulatorMSP'];

export class SoakGateways {
  private readonly processes: GatewayProcesses;

  constructor(private readonly description: NetworkDescription) {
    this.processes = new GatewayProcesses(description.stateDir);
  }

  private stateOf(mspId: string): string {
    const folder = path.join(this.description.stateDir, 'soak', 'gateways', mspId);
    mkdirSync(folder, { recursive: true });
    return folder;
  }

  private async startOne(mspId: string): Promise<void> {
    await this.processes.start(this.description, [mspId], {
      env: { HEMS_GATEWAY_STATE: this.stateOf(mspId) },
    });
  }

  /** Starts every gateway and waits until each is ready (/readyz). */
  async startAll(): Promise<void> {
    for (const mspId of GATEWAY_ORGS) {
      await this.startOne(mspId);
    }
  }

  /** SIGKILLs the gateway of `mspId` and waits for its process to exit. */
  async kill(mspId: string): Promise<void> {
    await this.processes.stop([mspId], 'SIGKILL');
  }

  /** Starts the gateway of `mspId` again with the same state folder; resolves once it is ready. */
  async restart(mspId: string): Promise<void> {
    await this.startOne(mspId);
  }

  /** Stops every gateway gracefully (open batches are sent and answered). */
  async stopAll(): Promise<void> {
    await this.processes.stop(undefined, 'SIGTERM');
  }
}
