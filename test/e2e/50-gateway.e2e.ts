import { randomBytes } from 'node:crypto';
import {
  findIdentity,
  loadNetworkDescription,
  readCredentials,
  type NetworkDescription,
} from '@hems/network-client';
import { expect } from 'chai';
import { HemsClient, type HemsEvent } from '../../gateway-api/src/client';
import { E2E_STATE_DIR } from './support/network';
import {
  GatewayProcesses,
  callGateway,
  gatewayCaPem,
  gatewayUrl,
  useGatewayPorts,
} from '../../gateway-api/src/local/gateway-processes';

// Test ports, apart from the defaults a developer's own gateways use.
useGatewayPorts({ DSOMSP: 19443, UtilityAMSP: 19444, UtilityBMSP: 19445, RegulatorMSP: 19446 });

const UTILITIES = ['UtilityAMSP', 'UtilityBMSP'] as const;
const DSO = { mspId: 'DSOMSP', name: 'dso-operator' };
const AUDITOR = { mspId: 'RegulatorMSP', name: 'auditor' };

interface Device {
  readonly name: string;
  readonly mspId: string;
  readonly bus: string;
  readonly client: HemsClient;
}

function sampleDevice(description: NetworkDescription, mspId: string, name: string): Device {
  const identity = findIdentity(description, mspId, name);
  const credentials = readCredentials(identity);
  return {
    name,
    mspId,
    bus: identity.attributes['hems.bus'] ?? '',
    client: new HemsClient({
      gatewayUrl: gatewayUrl(mspId),
      gatewayCaPem: gatewayCaPem(description, mspId),
      certificatePem: credentials.certificate.toString('utf8'),
      privateKeyPem: credentials.privateKeyPem.toString('utf8'),
    }),
  };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('the REST gateways on the real network', () => {
  let description: NetworkDescription;
  const gateways = new GatewayProcesses(E2E_STATE_DIR);
  let enrolled: Device;

  before(async function () {
    this.timeout(120_000);
    description = loadNetworkDescription(E2E_STATE_DIR);
    await gateways.start(description, ['DSOMSP', ...UTILITIES, 'RegulatorMSP']);
  });

  after(async () => {
    await gateways.stop();
  });

  it('enrols a new HEMS device: the utility admin registers it, the device sends a CSR and keeps its key', async () => {
    const homeId = `home-e2e-${randomBytes(3).toString('hex')}`;
    const registered = await callGateway<{ enrollmentId: string; secret: string }>(
      description,
      'UtilityAMSP',
      { mspId: 'UtilityAMSP', name: 'orgadmin' },
      'POST',
      '/v1/devices',
      { homeId, bus: 'bus-1' },
    );
    expect(registered.status).to.equal(201);
    const credentials = await HemsClient.enroll({
      gatewayUrl: gatewayUrl('UtilityAMSP'),
      gatewayCaPem: gatewayCaPem(description, 'UtilityAMSP'),
      enrollmentId: registered.body.enrollmentId,
      secret: registered.body.secret,
    });
    expect(credentials.certificatePem).to.match(/BEGIN CERTIFICATE/);
    enrolled = {
      name: registered.body.enrollmentId,
      mspId: 'UtilityAMSP',
      bus: 'bus-1',
      client: new HemsClient({
        gatewayUrl: gatewayUrl('UtilityAMSP'),
        gatewayCaPem: gatewayCaPem(description, 'UtilityAMSP'),
        ...credentials,
      }),
    };
    // A second enrolment with the same secret is refused.
    const again = await callGateway(description, 'UtilityAMSP', undefined, 'POST', '/v1/enroll', {
      enrollmentId: registered.body.enrollmentId,
      secret: registered.body.secret,
      csr: 'not a csr',
    });
    expect(again.status).to.be.oneOf([400, 401, 409]);
  });

  it('runs a full slot through the REST API only, with events to devices, the deadline scheduler and an auditor proof', async function () {
    this.timeout(240_000);
    expect(enrolled, 'the enrolment test ran first').to.not.equal(undefined);
    // The device revoked by the refusal suite (last of UtilityB, bus-2) is left out.
    const devices = [
      enrolled,
      ...UTILITIES.flatMap((mspId) =>
        description.identities
          .filter((identity) => identity.mspId === mspId && identity.attributes['hems.role'] === 'hems')
          .map((identity) => identity.name)
          .filter((name) => name !== 'hems-b-008')
          .map((name) => sampleDevice(description, mspId, name)),
      ),
    ];

    // A device follows the event stream from before the slot opens.
    const events: HemsEvent[] = [];
    const follower = devices[1];
    if (follower === undefined) {
      throw new Error('no sample device');
    }
    const stop = new AbortController();
    const following = follower.client.followEvents(
      (event) => {
        events.push(event);
      },
      { signal: stop.signal },
    );
    await sleep(1_000);

    const slotId = `rest-${Date.now().toString(36)}`;
    const deadline = new Date(Date.now() + 40_000).toISOString();
    const opened = await callGateway(description, 'DSOMSP', DSO, 'POST', '/v1/slots', {
      slotId,
      deadline,
      prices: { default: { lower: 20, upper: 80 }, buses: [{ bus: 'bus-2', lower: 35, upper: 110 }] },
    });
    expect(opened.status, JSON.stringify(opened.body)).to.equal(201);

    const price = await follower.client.getSlot(slotId);
    expect(price).to.include({ slotId, status: 'OPEN', bus: follower.bus });

    const ranges = new Map<Device, { lower: number; upper: number }>();
    const signedBy = new Map<Device, { payload: string }>();
    await Promise.all(
      devices.map(async (device, index) => {
        const range = { lower: 0.5 + ((index * 0.37) % 3), upper: 4 + ((index * 0.91) % 5) };
        const rounded = {
          lower: Math.round(range.lower * 1000) / 1000,
          upper: Math.round(range.upper * 1000) / 1000,
        };
        ranges.set(device, rounded);
        const signed = device.client.signForecast(slotId, rounded);
        signedBy.set(device, signed);
        const receipt = await device.client.submitSignedForecast(signed);
        expect(receipt.slotId).to.equal(slotId);
      }),
    );

    // The DSO asks its own gateway, which asks every utility gateway to aggregate on its peer;
    // buses whose enrolled homes all submitted close now.
    const triggered = await callGateway<{
      utilities: { org: string; statusCode: number; result: { buses: { bus: string; outcome: string }[] } }[];
    }>(description, 'DSOMSP', DSO, 'POST', `/v1/slots/${slotId}/aggregates`);
    expect(triggered.status, JSON.stringify(triggered.body)).to.equal(200);
    for (const utility of triggered.body.utilities) {
      expect(utility.statusCode, JSON.stringify(utility)).to.equal(200);
      expect(utility.result.buses.find((bus) => bus.bus === 'bus-1')?.outcome).to.equal('published');
    }

    // UtilityB's bus-2 is short of a home (revoked): its gateway's scheduler publishes it at the deadline.
    let aggregates: {
      status: string;
      buses: {
        bus: string;
        homes: number;
        withheldHomes: number;
        lower: number;
        upper: number;
        pendingOrgs: string[];
      }[];
    };
    for (;;) {
      aggregates = (
        await callGateway<typeof aggregates>(
          description,
          'DSOMSP',
          DSO,
          'GET',
          `/v1/slots/${slotId}/aggregates`,
        )
      ).body;
      if (aggregates.buses.every((bus) => bus.pendingOrgs.length === 0)) {
        break;
      }
      expect(Date.now(), 'the scheduler published the remaining aggregates').to.be.below(
        new Date(deadline).getTime() + 60_000,
      );
      await sleep(2_000);
    }
    const bus1 = devices.filter((device) => device.bus === 'bus-1');
    const sum = (values: number[]): number =>
      Math.round(values.reduce((a, b) => a + Math.round(b * 1000), 0)) / 1000;
    const total = aggregates.buses.find((bus) => bus.bus === 'bus-1');
    expect(total?.homes).to.equal(bus1.length);
    expect(total?.lower).to.equal(sum(bus1.map((device) => ranges.get(device)?.lower ?? 0)));
    expect(total?.upper).to.equal(sum(bus1.map((device) => ranges.get(device)?.upper ?? 0)));

    const dispatched = await callGateway(description, 'DSOMSP', DSO, 'POST', `/v1/slots/${slotId}/dispatch`, {
      capacities: {
        'bus-1': (total?.lower ?? 0) + ((total?.upper ?? 0) - (total?.lower ?? 0)) / 2,
        'bus-2': 50,
      },
    });
    expect(dispatched.status, JSON.stringify(dispatched.body)).to.equal(201);

    for (const device of devices) {
      const dispatch = await device.client.getDispatch(slotId);
      const range = ranges.get(device) ?? { lower: 0, upper: 0 };
      expect(dispatch.allowedKw).to.be.closeTo(
        dispatch.lambda * range.upper + (1 - dispatch.lambda) * range.lower,
        0.0006,
      );
    }

    // Server-sent events reached the device: its slot opened and its dispatch.
    for (
      let waited = 0;
      !events.some((event) => event.type === 'dispatch-published') && waited < 10_000;
      waited += 250
    ) {
      await sleep(250);
    }
    stop.abort();
    await following;
    expect(events.some((event) => event.type === 'slot-opened' && event.data.slotId === slotId)).to.equal(
      true,
    );
    expect(
      events.some((event) => event.type === 'dispatch-published' && event.data.slotId === slotId),
    ).to.equal(true);

    // An auditor reads the history and checks the enrolled home's proof of submission.
    const history = await callGateway<{ entries: { record: string; txId: string }[] }>(
      description,
      'RegulatorMSP',
      AUDITOR,
      'GET',
      `/v1/audit/slots/${slotId}/history`,
    );
    expect(history.status).to.equal(200);
    expect(history.body.entries.some((entry) => entry.record === 'slot')).to.equal(true);
    const anonymous = await callGateway(
      description,
      'UtilityAMSP',
      undefined,
      'GET',
      `/v1/slots/${slotId}/receipt`,
    );
    expect(anonymous.status).to.equal(401);
    const payload = JSON.parse(signedBy.get(enrolled)?.payload ?? '{}') as {
      nonce: string;
      lower: number;
      upper: number;
    };
    const { homeRef } = await enrolled.client.getReceipt(slotId);
    const prove = (revealed: Record<string, unknown>): Promise<{ match: boolean }> =>
      callGateway<{ match: boolean }>(description, 'RegulatorMSP', AUDITOR, 'POST', '/v1/audit/proofs', {
        org: 'UtilityAMSP',
        slotId,
        homeRef,
        revealed,
      }).then((response) => response.body);
    const revealed = {
      slotId,
      bus: 'bus-1',
      lower: payload.lower,
      upper: payload.upper,
      nonce: payload.nonce,
    };
    expect(await prove(revealed)).to.include({ match: true });
    expect(await prove({ ...revealed, upper: payload.upper + 1 })).to.include({ match: false });
    const dispatchTx = (dispatched.headers['x-transaction-id'] as string | undefined) ?? '';
    const decoded = await callGateway<{
      creatorRole: string;
      endorsingOrganizations: string[];
      validationCode: string;
    }>(description, 'RegulatorMSP', AUDITOR, 'GET', `/v1/audit/transactions/${dispatchTx}`);
    expect(decoded.body).to.include({ creatorRole: 'dso', validationCode: 'VALID' });
    expect(decoded.body.endorsingOrganizations.length).to.be.at.least(3);
  });
});
