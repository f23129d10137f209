/**
 * The REST gateways in the e2e suites: their test ports, the identities that call them, and the
 * sample devices' clients.
 */
import { findIdentity, readCredentials, type NetworkDescription } from '@hems/network-client';
import { HemsClient } from '@hems/device-client';
import { gatewayCaPem, gatewayUrl, useGatewayPorts } from '@hems/testkit';

/** Test ports, apart from the defaults a developer's own gateways use. */
export function useE2eGatewayPorts(): void {
  useGatewayPorts({ DSOMSP: 19443, UtilityAMSP: 19444, UtilityBMSP: 19445, RegulatorMSP: 19446 });
}

export interface Caller {
  readonly mspId: string;
  readonly name: string;
}

export const DSO_OPERATOR: Caller = { mspId: 'DSOMSP', name: 'dso-operator' };
export const MARKET: Caller = { mspId: 'DSOMSP', name: 'market-operator' };
export const AUDITOR: Caller = { mspId: 'RegulatorMSP', name: 'auditor' };
export const adminOf = (mspId: string): Caller => ({ mspId, name: 'orgadmin' });
export const meterOf = (mspId: string): Caller => ({ mspId, name: 'meter-headend' });

/** A sample device's client at its utility's gateway, with the attributes of its enrolled identity. */
export function sampleDeviceClient(
  description: NetworkDescription,
  mspId: string,
  name: string,
): { readonly attributes: Readonly<Record<string, string | undefined>>; readonly client: HemsClient } {
  const identity = findIdentity(description, mspId, name);
  const credentials = readCredentials(identity);
  return {
    attributes: identity.attributes,
    client: new HemsClient({
      gatewayUrl: gatewayUrl(mspId),
      gatewayCaPem: gatewayCaPem(description, mspId),
      certificatePem: credentials.certificate.toString('utf8'),
      privateKeyPem: credentials.privateKeyPem.toString('utf8'),
    }),
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
