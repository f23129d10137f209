/**
 * The gateway tests' PKI: the shared test PKI of @hems/testkit with CAs named by MSP id, plus
 * what needs the gateway's own types (trust stores, the channel's CAs).
 */
import { X509Certificate } from 'node:crypto';
import * as testkit from '@hems/testkit';
import { issueClient } from '@hems/testkit';
import { TrustStore, type RevocationSource } from '../../src/identity/trust-store';

export {
  createCsr,
  ECDSA,
  fabricAttributesExtension,
  generateKeys,
  issueClient,
  issueCredentials,
  issueFromCsr,
  issueServer,
  privateKeyPem,
  type ClientOptions,
  type Credentials,
} from '@hems/testkit';

export interface TestCa extends testkit.TestCa {
  readonly mspId: string;
}

/** A self-signed CA; its subject is `CN=ca.<mspId in lower case>, O=<mspId>`. */
export async function createCa(mspId: string): Promise<TestCa> {
  return { ...(await testkit.createCa(mspId)), mspId };
}

/** A trust store over the given CAs. */
export function trustStoreOf(cas: Iterable<TestCa>, revocations?: RevocationSource): TrustStore {
  return new TrustStore(
    [...cas].map((ca) => ({
      mspId: ca.mspId,
      certificate: new X509Certificate(ca.pem),
    })),
    revocations,
  );
}

function noCaFor(mspId: string): never {
  throw new Error(`no CA for ${mspId}`);
}

/** CAs of the channel's orgs, a foreign CA, and client certificates for every role. */
export class TestPki {
  readonly cas = new Map<string, TestCa>();
  foreign!: TestCa;

  static async create(): Promise<TestPki> {
    const pki = new TestPki();
    for (const mspId of ['DSOMSP', 'UtilityAMSP', 'UtilityBMSP', 'RegulatorMSP']) {
      pki.cas.set(mspId, await createCa(mspId));
    }
    pki.foreign = await createCa('MalloryMSP');
    return pki;
  }

  /** The CA of `mspId`; naming an org without one is a mistake of the test. */
  ca(mspId: string): TestCa {
    return this.cas.get(mspId) ?? noCaFor(mspId);
  }

  trustStore(revocations?: RevocationSource): TrustStore {
    return trustStoreOf(this.cas.values(), revocations);
  }

  device(mspId: string, homeId: string, bus: string): Promise<X509Certificate> {
    return issueClient(this.ca(mspId), {
      name: `hems-${homeId}`,
      attrs: { 'hems.role': 'hems', 'hems.home': homeId, 'hems.bus': bus },
    });
  }

  role(mspId: string, role: string, name = role): Promise<X509Certificate> {
    return issueClient(this.ca(mspId), { name, attrs: { 'hems.role': role } });
  }
}
