import { randomBytes } from 'node:crypto';
import { loadNetworkDescription, type NetworkDescription } from '@hems/network-client';
import { expect } from 'chai';
import { HemsClient, type HemsEvent } from '@hems/device-client';
import { GatewayProcesses, callGateway, gatewayCaPem, gatewayUrl } from '@hems/testkit';
import { UTILITIES } from './support/actors';
import {
  AUDITOR,
  DSO_OPERATOR as DSO,
  sampleDeviceClient,
  sleep,
  useE2eGatewayPorts,
} from './support/gateways';
import { E2E_STATE_DIR } from './support/network';

useE2eGatewayPorts();

interface Device {
  readonly name: string;
  readonly mspId: string;
  readonly bus: string;
  readonly client: HemsClient;
}

function sampleDevice(description: NetworkDescription, mspId: string, name: string): Device {
  const { attributes, client } = sampleDeviceClient(description, mspId, name);
  return { name, mspId, bus: attributes['hems.bus'] ?? '', client };
}

interface Range {
  lower: number;
  upper: number;
}

/** The enrolled device and every sample HEMS device of the utilities, one client each. */
function slotDevices(description: NetworkDescription, enrolled: Device): Device[] {
  // The device revoked by the refusal suite (last of UtilityB, bus-2) is left out.
  return [
    enrolled,
    ...UTILITIES.flatMap((mspId) =>
      description.identities
        .filter((identity) => identity.mspId === mspId && identity.attributes['hems.role'] === 'hems')
        .map((identity) => identity.name)
        .filter((name) => name !== 'hems-b-008')
        .map((name) => sampleDevice(description, mspId, name)),
    ),
  ];
}

/**
 * The device's event stream, followed until `stop`; `stop` waits (up to 10 s) for the dispatch
 * event first and answers every event received.
 */
function followEvents(device: Device): { stop: () => Promise<HemsEvent[]> } {
  const events: HemsEvent[] = [];
  const abort = new AbortController();
  const following = device.client.followEvents(
    (event) => {
      events.push(event);
    },
    { signal: abort.signal },
  );
  return {
    stop: async () => {
      for (
        let waited = 0;
        !events.some((event) => event.type === 'dispatch-published') && waited < 10_000;
        waited += 250
      ) {
        await sleep(250);
      }
      abort.abort();
      await following;
      return events;
    },
  };
}

async function openSlot(
  description: NetworkDescription,
  slotId: string,
  deadline: string,
  follower: Device,
): Promise<void> {
  const opened = await callGateway(description, 'DSOMSP', DSO, 'POST', '/v1/slots', {
    slotId,
    deadline,
    prices: { default: { lower: 20, upper: 80 }, buses: [{ bus: 'bus-2', lower: 35, upper: 110 }] },
  });
  expect(opened.status, JSON.stringify(opened.body)).to.equal(201);

  const price = await follower.client.getSlot(slotId);
  expect(price).to.include({ slotId, status: 'OPEN', bus: follower.bus });
}

/** Every device signs and submits its forecast; answers the ranges and the signed payloads. */
async function submitForecasts(
  devices: readonly Device[],
  slotId: string,
): Promise<{ ranges: Map<Device, Range>; signedBy: Map<Device, { payload: string }> }> {
  const ranges = new Map<Device, Range>();
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
  return { ranges, signedBy };
}

/**
 * The DSO asks its own gateway, which asks every utility gateway to aggregate on its peer;
 * buses whose enrolled homes all submitted close now.
 */
async function triggerAggregation(description: NetworkDescription, slotId: string): Promise<void> {
  const triggered = await callGateway<{
    utilities: { org: string; statusCode: number; result: { buses: { bus: string; outcome: string }[] } }[];
  }>(description, 'DSOMSP', DSO, 'POST', `/v1/slots/${slotId}/aggregates`);
  expect(triggered.status, JSON.stringify(triggered.body)).to.equal(200);
  for (const utility of triggered.body.utilities) {
    expect(utility.statusCode, JSON.stringify(utility)).to.equal(200);
    expect(utility.result.buses.find((bus) => bus.bus === 'bus-1')?.outcome).to.equal('published');
  }
}

interface Aggregates {
  status: string;
  buses: {
    bus: string;
    homes: number;
    withheldHomes: number;
    lower: number;
    upper: number;
    pendingOrgs: string[];
  }[];
}

/**
 * The slot's aggregates once no bus waits for an org. UtilityB's bus-2 is short of a home
 * (revoked): its gateway's scheduler publishes it at the deadline.
 */
async function awaitAggregates(
  description: NetworkDescription,
  slotId: string,
  deadline: string,
): Promise<Aggregates> {
  for (;;) {
    const aggregates = (
      await callGateway<Aggregates>(description, 'DSOMSP', DSO, 'GET', `/v1/slots/${slotId}/aggregates`)
    ).body;
    if (aggregates.buses.every((bus) => bus.pendingOrgs.length === 0)) {
      return aggregates;
    }
    expect(Date.now(), 'the scheduler published the remaining aggregates').to.be.below(
      new Date(deadline).getTime() + 60_000,
    );
    await sleep(2_000);
  }
}

/** Checks the bus's published sums against the devices' ranges; answers its totals. */
function expectBusTotals(
  aggregates: Aggregates,
  bus: string,
  devices: readonly Device[],
  ranges: ReadonlyMap<Device, Range>,
): Aggregates['buses'][number] | undefined {
  const onBus = devices.filter((device) => device.bus === bus);
  const sum = (values: number[]): number =>
    Math.round(values.reduce((a, b) => a + Math.round(b * 1000), 0)) / 1000;
  const total = aggregates.buses.find((entry) => entry.bus === bus);
  expect(total?.homes).to.equal(onBus.length);
  expect(total?.lower).to.equal(sum(onBus.map((device) => ranges.get(device)?.lower ?? 0)));
  expect(total?.upper).to.equal(sum(onBus.map((device) => ranges.get(device)?.upper ?? 0)));
  return total;
}

/** Each device's allowed power is λ·upper + (1 − λ)·lower of its own range. */
async function expectAllowedPower(
  devices: readonly Device[],
  slotId: string,
  ranges: ReadonlyMap<Device, Range>,
): Promise<void> {
  for (const device of devices) {
    const dispatch = await device.client.getDispatch(slotId);
    const range = ranges.get(device) ?? { lower: 0, upper: 0 };
    expect(dispatch.allowedKw).to.be.closeTo(
      dispatch.lambda * range.upper + (1 - dispatch.lambda) * range.lower,
      0.0006,
    );
  }
}

/** An auditor reads the history and checks the enrolled home's proof of submission. */
async function auditSlot(
  description: NetworkDescription,
  slotId: string,
  enrolled: Device,
  signed: { payload: string } | undefined,
): Promise<void> {
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
  const payload = JSON.parse(signed?.payload ?? '{}') as {
    nonce: string;
    lower: number;
    upper: number;
  };
  const receipt = await enrolled.client.getReceipt(slotId);
  const forecast = {
    slotId,
    bus: 'bus-1',
    lower: payload.lower,
    upper: payload.upper,
    nonce: payload.nonce,
  };
  // The receipt is the home's own forecast in effect, with its place in its batch.
  expect(receipt.forecast).to.deep.equal(forecast);
  const prove = (revealed: Record<string, unknown>): Promise<{ match: boolean }> =>
    callGateway<{ match: boolean }>(description, 'RegulatorMSP', AUDITOR, 'POST', '/v1/audit/proofs', {
      org: 'UtilityAMSP',
      slotId,
      batch: receipt.batch,
      revealed: { forecast: revealed, index: receipt.index, count: receipt.count, path: receipt.path },
    }).then((response) => response.body);
  expect(await prove(forecast)).to.include({ match: true });
  expect(await prove({ ...forecast, upper: payload.upper + 1 })).to.include({ match: false });
}

/** The auditor decodes the dispatch transaction: created by the DSO, endorsed by a majority. */
async function expectDispatchTransaction(description: NetworkDescription, txId: string): Promise<void> {
  const decoded = await callGateway<{
    creatorRole: string;
    endorsingOrganizations: string[];
    validationCode: string;
  }>(description, 'RegulatorMSP', AUDITOR, 'GET', `/v1/audit/transactions/${txId}`);
  expect(decoded.body).to.include({ creatorRole: 'dso', validationCode: 'VALID' });
  expect(decoded.body.endorsingOrganizations.length).to.be.at.least(3);
}

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
    const devices = slotDevices(description, enrolled);

    // A device follows the event stream from before the slot opens.
    const follower = devices[1];
    if (follower === undefined) {
      throw new Error('no sample device');
    }
    const following = followEvents(follower);
    await sleep(1_000);

    const slotId = `rest-${Date.now().toString(36)}`;
    const deadline = new Date(Date.now() + 40_000).toISOString();
    await openSlot(description, slotId, deadline, follower);
    const forecasts = await submitForecasts(devices, slotId);
    await triggerAggregation(description, slotId);
    const aggregates = await awaitAggregates(description, slotId, deadline);
    const total = expectBusTotals(aggregates, 'bus-1', devices, forecasts.ranges);

    const dispatched = await callGateway(description, 'DSOMSP', DSO, 'POST', `/v1/slots/${slotId}/dispatch`, {
      capacities: {
        'bus-1': (total?.lower ?? 0) + ((total?.upper ?? 0) - (total?.lower ?? 0)) / 2,
        'bus-2': 50,
      },
    });
    expect(dispatched.status, JSON.stringify(dispatched.body)).to.equal(201);
    await expectAllowedPower(devices, slotId, forecasts.ranges);

    // Server-sent events reached the device: its slot opened and its dispatch.
    const events = await following.stop();
    expect(events.some((event) => event.type === 'slot-opened' && event.data.slotId === slotId)).to.equal(
      true,
    );
    expect(
      events.some((event) => event.type === 'dispatch-published' && event.data.slotId === slotId),
    ).to.equal(true);

    await auditSlot(description, slotId, enrolled, forecasts.signedBy.get(enrolled));
    const dispatchTx = (dispatched.headers['x-transaction-id'] as string | undefined) ?? '';
    await expectDispatchTransaction(description, dispatchTx);
  });
});
