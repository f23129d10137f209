import { expect } from 'chai';
import { derivedId } from '../src/openadr/object-ids';
import { PROGRAM_ID } from '../src/openadr/render';
import type { OpenAdrVersion } from '../src/openadr/versions';
import {
  bearer,
  blBearer,
  call,
  serialOf,
  SLOT_NEW,
  startVtn,
  VERSIONS,
  vtnPeople,
  type Vtn,
  type VtnPeople,
  expectProblem,
} from './support/openadr';

type Json = Record<string, unknown>;

const CALLBACK = 'https://ven-a.example/openadr/notify';

/** The create word of each version: 3.1.0's CREATE, and the HTTP verb 3.0.1 VENs send. */
const createWord = (version: OpenAdrVersion): string => (version === '3.1.0' ? 'CREATE' : 'POST');

function subscriptionOf(version: OpenAdrVersion, callbackUrl = CALLBACK, extra: Json = {}): Json {
  return {
    ...(version === '3.0.1' ? { programID: PROGRAM_ID } : {}),
    clientName: 'ven-name-a',
    objectOperations: [
      { objects: ['EVENT'], operations: [createWord(version)], callbackUrl, bearerToken: 'callback-token-a' },
    ],
    ...extra,
  };
}

async function eventually(condition: () => boolean): Promise<void> {
  for (let tries = 0; tries < 200 && !condition(); tries += 1) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  expect(condition()).to.equal(true);
}

describe('OpenADR VTN: subscriptions, VENs and resources', () => {
  let people: VtnPeople;
  let vtn: Vtn;

  before(async () => {
    people = await vtnPeople();
  });
  beforeEach(async () => {
    vtn = await startVtn(people);
  });
  afterEach(() => vtn.app.close());

  for (const version of VERSIONS) {
    describe(`subscriptions (${version})`, () => {
      const a = (): Record<string, string> => bearer(version, people.a.clientId);

      it("creates, lists, reads, replaces and deletes a VEN's own subscription", async () => {
        const created = await call(vtn.app, version, 'POST', '/subscriptions', a(), subscriptionOf(version));
        expect(created.statusCode, created.body).to.equal(201);
        const subscription = created.json<Json>();
        expect(subscription.id).to.match(/^sub-[A-Za-z0-9_-]+$/);
        expect(subscription).to.include({ objectType: 'SUBSCRIPTION', clientName: 'ven-name-a' });
        if (version === '3.1.0') {
          expect(subscription).to.include({ clientID: people.a.clientId });
        } else {
          expect(subscription).to.include({ programID: PROGRAM_ID }).and.not.have.property('clientID');
        }
        const path = `/subscriptions/${String(subscription.id)}`;
        expect((await call(vtn.app, version, 'GET', '/subscriptions', a())).json()).to.deep.equal([
          subscription,
        ]);
        expect((await call(vtn.app, version, 'GET', path, a())).json()).to.deep.equal(subscription);

        const replaced = await call(
          vtn.app,
          version,
          'PUT',
          path,
          a(),
          subscriptionOf(version, CALLBACK, { clientName: 'renamed' }),
        );
        expect(replaced.statusCode, replaced.body).to.equal(200);
        expect(replaced.json()).to.include({
          id: subscription.id,
          clientName: 'renamed',
          createdDateTime: subscription.createdDateTime,
        });

        const deleted = await call(vtn.app, version, 'DELETE', path, a());
        expect(deleted.statusCode).to.equal(200);
        expect(deleted.json()).to.include({ id: subscription.id });
        expectProblem(await call(vtn.app, version, 'GET', path, a()), 404);
        expect((await call(vtn.app, version, 'GET', '/subscriptions', a())).json()).to.deep.equal([]);
      });

      it("keeps a VEN's subscription from every other client", async () => {
        const created = await call(vtn.app, version, 'POST', '/subscriptions', a(), subscriptionOf(version));
        const path = `/subscriptions/${String(created.json<Json>().id)}`;
        for (const other of [bearer(version, people.b.clientId), blBearer(version, vtn)]) {
          expectProblem(await call(vtn.app, version, 'GET', path, other), 404);
          expect((await call(vtn.app, version, 'GET', '/subscriptions', other)).json()).to.deep.equal([]);
        }
        const b = bearer(version, people.b.clientId);
        expectProblem(await call(vtn.app, version, 'PUT', path, b, subscriptionOf(version)), 404);
        expectProblem(await call(vtn.app, version, 'DELETE', path, b), 404);
        expect((await call(vtn.app, version, 'GET', path, a())).statusCode).to.equal(200);
      });

      it('refuses subscriptions of business logic: 403', async () => {
        expectProblem(
          await call(
            vtn.app,
            version,
            'POST',
            '/subscriptions',
            blBearer(version, vtn),
            subscriptionOf(version),
          ),
          403,
        );
      });

      it('takes https callbacks only', async () => {
        const http = await call(
          vtn.app,
          version,
          'POST',
          '/subscriptions',
          a(),
          subscriptionOf(version, 'http://ven-a.example/cb'),
        );
        expect(expectProblem(http, 400).detail).to.match(/https/);
      });

      it('takes http callbacks when allowHttpCallbacks is set', async () => {
        await vtn.app.close();
        vtn = await startVtn(people, { allowHttpCallbacks: true });
        const http = await call(
          vtn.app,
          version,
          'POST',
          '/subscriptions',
          a(),
          subscriptionOf(version, 'http://ven-a.example/cb'),
        );
        expect(http.statusCode, http.body).to.equal(201);
      });

      it("notifies the subscriber of a slot's price event when the slot opens", async () => {
        const created = await call(vtn.app, version, 'POST', '/subscriptions', a(), subscriptionOf(version));
        expect(created.statusCode).to.equal(201);
        const price = await call(
          vtn.app,
          version,
          'GET',
          `/events/${derivedId('price', SLOT_NEW, 'bus-1')!}`,
          a(),
        );
        vtn.slots.listener?.opened(SLOT_NEW);
        await eventually(() => vtn.fetch.calledOnce);
        const [url, init] = vtn.fetch.firstCall.args as [string, RequestInit];
        expect(url).to.equal(CALLBACK);
        expect(init.method).to.equal('POST');
        expect(init.headers).to.include({
          authorization: 'Bearer callback-token-a',
          'content-type': 'application/json',
        });
        expect(JSON.parse(init.body as string)).to.deep.equal({
          objectType: 'EVENT',
          operation: createWord(version),
          object: price.json<Json>(),
        });
      });

      it('notifies the subscriber of its own dispatch, and no revoked VEN', async () => {
        await call(vtn.app, version, 'POST', '/subscriptions', a(), subscriptionOf(version));
        const other = subscriptionOf(version, 'https://ven-b.example/cb', { clientName: 'ven-name-b' });
        await call(vtn.app, version, 'POST', '/subscriptions', bearer(version, people.b.clientId), other);
        await vtn.registry.revoke(people.b.clientId);
        vtn.slots.listener?.dispatched(SLOT_NEW);
        await eventually(() => vtn.fetch.calledOnce);
        await new Promise((resolve) => setTimeout(resolve, 20));
        expect(vtn.fetch.callCount).to.equal(1);
        const [url, init] = vtn.fetch.firstCall.args as [string, RequestInit];
        expect(url).to.equal(CALLBACK);
        const object = (JSON.parse(init.body as string) as { object: Json }).object;
        expect(object.id).to.equal(derivedId('dispatch', SLOT_NEW, people.a.venId));
      });

      it('notifies no VEN whose home certificate was revoked', async () => {
        await call(vtn.app, version, 'POST', '/subscriptions', a(), subscriptionOf(version));
        vtn.revoked.add(serialOf(people.a.certificate));
        vtn.slots.listener?.dispatched(SLOT_NEW);
        vtn.slots.listener?.opened(SLOT_NEW);
        await new Promise((resolve) => setTimeout(resolve, 50));
        expect(vtn.fetch.called).to.equal(false);
      });

      it('notifies only subscriptions to EVENT creations', async () => {
        const reads = subscriptionOf(version);
        (reads.objectOperations as Json[])[0] = {
          objects: ['EVENT'],
          operations: ['READ'],
          callbackUrl: CALLBACK,
        };
        const reports = subscriptionOf(version);
        (reports.objectOperations as Json[])[0] = {
          objects: ['REPORT'],
          operations: [createWord(version)],
          callbackUrl: CALLBACK,
        };
        for (const body of [reads, reports]) {
          expect((await call(vtn.app, version, 'POST', '/subscriptions', a(), body)).statusCode).to.equal(
            201,
          );
        }
        vtn.slots.listener?.opened(SLOT_NEW);
        await new Promise((resolve) => setTimeout(resolve, 50));
        expect(vtn.fetch.called).to.equal(false);
      });

      it('holds at most 20 subscriptions per VEN', async () => {
        for (let n = 0; n < 20; n += 1) {
          const created = await call(
            vtn.app,
            version,
            'POST',
            '/subscriptions',
            a(),
            subscriptionOf(version),
          );
          expect(created.statusCode).to.equal(201);
        }
        expectProblem(
          await call(vtn.app, version, 'POST', '/subscriptions', a(), subscriptionOf(version)),
          409,
        );
        const b = bearer(version, people.b.clientId);
        expect(
          (await call(vtn.app, version, 'POST', '/subscriptions', b, subscriptionOf(version))).statusCode,
        ).to.equal(201);
      });

      it('survives a failed delivery', async () => {
        vtn.fetch.rejects(new Error('connection refused'));
        await call(vtn.app, version, 'POST', '/subscriptions', a(), subscriptionOf(version));
        vtn.slots.listener?.opened(SLOT_NEW);
        await eventually(() => vtn.fetch.calledOnce);
        await eventually(() => vtn.logs.some((line) => line.includes('a subscription callback failed')));
        expect(vtn.logs.join('')).to.not.include('ven-a.example');
      });
    });

    describe(`VENs and resources (${version})`, () => {
      const a = (): Record<string, string> => bearer(version, people.a.clientId);
      const resources = (): string =>
        version === '3.1.0' ? '/resources' : `/vens/${people.a.venId}/resources`;

      it('gives a VEN its own VEN object', async () => {
        const response = await call(vtn.app, version, 'GET', '/vens', a());
        expect(response.statusCode, response.body).to.equal(200);
        const [ven, ...more] = response.json<Json[]>();
        expect(more).to.deep.equal([]);
        expect(ven).to.include({ id: people.a.venId, objectType: 'VEN', venName: people.a.venName });
        if (version === '3.1.0') {
          expect(ven).to.include({ clientID: people.a.clientId }).and.not.have.property('resources');
          expect(ven?.targets).to.deep.equal([people.a.venName]);
        } else {
          expect(ven).to.not.have.property('clientID');
          expect(ven?.resources).to.deep.equal([]);
          expect(ven?.targets).to.deep.equal([{ type: 'VEN_NAME', values: [people.a.venName] }]);
        }
        expect((await call(vtn.app, version, 'GET', `/vens/${people.a.venId}`, a())).json()).to.deep.equal(
          ven,
        );
        expectProblem(await call(vtn.app, version, 'GET', `/vens/${people.b.venId}`, a()), 404);
        expect((await call(vtn.app, version, 'GET', '/vens?venName=someone-else', a())).json()).to.deep.equal(
          [],
        );
      });

      it('gives a VEN its home as its one resource', async () => {
        const response = await call(vtn.app, version, 'GET', resources(), a());
        expect(response.statusCode, response.body).to.equal(200);
        const [resource, ...more] = response.json<Json[]>();
        expect(more).to.deep.equal([]);
        expect(resource).to.include({ objectType: 'RESOURCE', resourceName: 'home', venID: people.a.venId });
        if (version === '3.1.0') {
          expect(resource).to.include({ clientID: people.a.clientId });
        } else {
          expect(resource).to.not.have.property('clientID');
        }
        const one = await call(vtn.app, version, 'GET', `${resources()}/${String(resource?.id)}`, a());
        expect(one.json()).to.deep.equal(resource);
        expectProblem(await call(vtn.app, version, 'GET', `${resources()}/res-other`, a()), 404);
      });

      it('discloses no VEN to business logic and lets no client write VENs or resources: 403', async () => {
        expectProblem(await call(vtn.app, version, 'GET', '/vens', blBearer(version, vtn)), 403);
        expectProblem(
          await call(vtn.app, version, 'GET', `/vens/${people.a.venId}`, blBearer(version, vtn)),
          403,
        );
        expectProblem(await call(vtn.app, version, 'GET', resources(), blBearer(version, vtn)), 403);
        const writes: [string, string][] = [
          ['POST', '/vens'],
          ['PUT', `/vens/${people.a.venId}`],
          ['DELETE', `/vens/${people.a.venId}`],
          ['POST', resources()],
          ['DELETE', `${resources()}/res-${people.a.venId}`],
        ];
        for (const [method, path] of writes) {
          const payload = method === 'DELETE' ? undefined : { venName: 'x' };
          expectProblem(await call(vtn.app, version, method, path, a(), payload), 403);
        }
      });
    });
  }
});
