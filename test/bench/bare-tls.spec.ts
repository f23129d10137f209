import { expect } from 'chai';
import { createCa, issueCredentials, issueServer } from '@hems/testkit';
import {
  benchBareTls,
  measureBareTls,
  startBareTlsServer,
  TLS_CLIENT_MODES,
  type BareTlsMaterial,
  type BareTlsResult,
} from '../../scripts/bench/lib/bare-tls';

describe('bench bare mutual-TLS server', () => {
  let material: BareTlsMaterial;
  let strangerMaterial: BareTlsMaterial;

  before(async () => {
    // As in the bench: the server's TLS certificate from one CA, the device's from the org CA.
    const tlsCa = await createCa('TlsCa');
    const orgCa = await createCa('UtilityAMSP');
    const server = await issueServer(tlsCa);
    const device = await issueCredentials(orgCa, 'CN=hems-bench-device, OU=client');
    material = {
      serverKeyPem: server.keyPem,
      serverCertPem: server.certificatePem,
      clientCaPem: orgCa.pem,
      serverCaPem: tlsCa.pem,
      clientKeyPem: device.keyPem,
      clientCertPem: device.certificatePem,
    };
    const stranger = await issueCredentials(await createCa('Stranger'), 'CN=stranger');
    strangerMaterial = { ...material, clientKeyPem: stranger.keyPem, clientCertPem: stranger.certificatePem };
  });

  describe('200 requests in each mode, 8 in flight', () => {
    let results: BareTlsResult[];
    const result = (mode: string): BareTlsResult => {
      const found = results.find((candidate) => candidate.mode === mode);
      if (found === undefined) {
        throw new Error(`no ${mode} result`);
      }
      return found;
    };

    before(async () => {
      results = await benchBareTls(material, { requests: 200, concurrency: 8 });
    });

    it('answers every request 201 in every mode over TLS 1.3, at positive rates', () => {
      expect(results.map((r) => r.mode)).to.deep.equal([...TLS_CLIENT_MODES]);
      for (const r of results) {
        expect(r, r.mode).to.include({ requests: 200, failures: 0, concurrency: 8, protocol: 'TLSv1.3' });
        expect(r.firstError, r.mode).to.equal(undefined);
        expect(r.requestsPerSecond, r.mode).to.be.greaterThan(0);
        expect(r.seconds, r.mode).to.be.greaterThan(0);
        expect(r.p50Ms, r.mode).to.be.at.least(0);
        expect(r.p95Ms, r.mode).to.be.at.least(r.p50Ms);
      }
    });

    it('makes a full handshake per request without a session cache', () => {
      expect(result('full-handshake')).to.include({ handshakes: 200, resumedFraction: 0 });
    });

    it('resumes TLS sessions on new connections with the session cache', () => {
      const resumed = result('resumed');
      expect(resumed.handshakes).to.equal(200);
      // The first connections in flight have no ticket yet; every later one offers one.
      expect(resumed.resumedFraction).to.be.greaterThan(0.5);
    });

    it('keeps at most one connection per request in flight alive', () => {
      const keepAlive = result('keep-alive');
      expect(keepAlive.handshakes).to.be.at.least(1);
      expect(keepAlive.handshakes).to.be.at.most(8);
    });
  });

  it('counts the handshakes the server resumed, and runs for a duration', async () => {
    const server = await startBareTlsServer(material);
    try {
      const result = await measureBareTls(server, material, 'resumed', { durationMs: 300, concurrency: 4 });
      expect(result.failures).to.equal(0);
      expect(result.requests).to.be.greaterThan(0);
      expect(server.handshakes().total).to.equal(result.handshakes);
      expect(server.handshakes().resumed).to.be.greaterThan(0);
    } finally {
      await server.close();
    }
  });

  it('refuses a client whose certificate no trusted CA issued', async () => {
    const [result] = await benchBareTls(strangerMaterial, { requests: 5, concurrency: 2 }, [
      'full-handshake',
    ]);
    expect(result).to.include({ requests: 0, failures: 5, requestsPerSecond: 0 });
    expect(result?.firstError).to.be.a('string');
  });

  it('refuses loads that are not a count or a duration with a positive concurrency', async () => {
    const refused = async (load: Parameters<typeof benchBareTls>[1]): Promise<string> => {
      try {
        await benchBareTls(material, load);
      } catch (error) {
        return (error as Error).message;
      }
      return 'accepted';
    };
    expect(await refused({ concurrency: 0, requests: 1 })).to.equal(
      'concurrency must be a positive whole number',
    );
    expect(await refused({ concurrency: 1 })).to.equal('give either requests or durationMs');
    expect(await refused({ concurrency: 1, requests: 1, durationMs: 1 })).to.equal(
      'give either requests or durationMs',
    );
    expect(await refused({ concurrency: 1, requests: 0.5 })).to.equal(
      'requests must be a positive whole number',
    );
    expect(await refused({ concurrency: 1, durationMs: -1 })).to.equal('durationMs must be positive');
  });
});
