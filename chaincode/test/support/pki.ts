/**
 * The chaincode tests' PKI: the shared test PKI of @hems/testkit, with certificates valid around
 * the tests' clock (2026-2027) and CA subjects as the chaincode tests have always used.
 */
import * as testkit from '@hems/testkit';

export {
  freshNonce,
  signForecast,
  signPayload,
  type DeviceOptions,
  type ForecastInput,
  type TestCa,
  type TestDevice,
} from '@hems/testkit';

/** Certificates are generated at test time; these bound their validity around the tests' clock. */
export const VALID_FROM = new Date('2026-01-01T00:00:00Z');
export const VALID_TO = new Date('2027-12-31T00:00:00Z');

/** A test certificate authority per org, like Fabric CA issuing enrolment certificates. */
export function createCa(name: string, notBefore = VALID_FROM, notAfter = VALID_TO): Promise<testkit.TestCa> {
  return testkit.createCa(name, {
    subject: `CN=ca.${name.toLowerCase()}.example.com, O=${name}, C=US`,
    notBefore,
    notAfter,
  });
}

export function issueDevice(ca: testkit.TestCa, options: testkit.DeviceOptions): Promise<testkit.TestDevice> {
  return testkit.issueDevice(ca, {
    ...options,
    notBefore: options.notBefore ?? VALID_FROM,
    notAfter: options.notAfter ?? VALID_TO,
  });
}
