import { expect } from 'chai';
import type { LightMyRequestResponse } from 'fastify';
import { AccessTokens } from '../src/openadr/auth/access-tokens';
import { basePath, SCOPES, type OpenAdrVersion } from '../src/openadr/versions';
import {
  basic,
  DSO_CERTIFICATE,
  FORM,
  serialOf,
  startVtn,
  TOKEN_KEY,
  testVen,
  VERSIONS,
  vtnPeople,
  type Vtn,
  type VtnPeople,
} from './support/openadr';

const GRANT = 'grant_type=client_credentials';

function expectOauthError(response: LightMyRequestResponse, status: number, error: string): void {
  expect(response.statusCode, response.body).to.equal(status);
  expect(response.json()).to.include({ error, status });
  expect(response.headers['cache-control']).to.equal('no-store');
  if (status === 401) {
    expect(response.headers['www-authenticate']).to.match(/^Basic /);
  }
}

describe('OpenADR VTN: token endpoint', () => {
  let people: VtnPeople;
  let vtn: Vtn;

  before(async () => {
    people = await vtnPeople();
  });
  beforeEach(async () => {
    vtn = await startVtn(people);
  });
  afterEach(() => vtn.app.close());

  const token = (
    version: OpenAdrVersion,
    payload: string,
    headers: Record<string, string> = {},
  ): Promise<LightMyRequestResponse> =>
    vtn.app.inject({
      method: 'POST',
      url: `${basePath(version)}/auth/token`,
      headers: { ...FORM, ...headers },
      payload,
    });

  for (const version of VERSIONS) {
    describe(version, () => {
      it('issues a bearer token for Basic client credentials', async () => {
        const response = await token(version, GRANT, {
          authorization: basic(people.a.clientId, people.a.secret),
        });
        expect(response.statusCode, response.body).to.equal(200);
        expect(response.headers['cache-control']).to.equal('no-store');
        expect(response.headers.pragma).to.equal('no-cache');
        const body = response.json<Record<string, unknown>>();
        expect(body).to.include({ token_type: 'Bearer', expires_in: 3600, scope: SCOPES[version].ven });
        expect(new AccessTokens(TOKEN_KEY).verify(body.access_token as string)).to.include({
          sub: people.a.clientId,
          role: 'ven',
        });
      });

      it('issues a bearer token for credentials in the form body, with a narrower scope if asked', async () => {
        const form = new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: people.b.clientId,
          client_secret: people.b.secret,
          scope: 'write_reports',
        });
        const response = await token(version, form.toString());
        expect(response.statusCode, response.body).to.equal(200);
        expect(response.json()).to.include({ token_type: 'Bearer', scope: 'write_reports' });
      });

      it('refuses credentials sent both in the header and in the body', async () => {
        const response = await token(version, `${GRANT}&client_id=${people.a.clientId}&client_secret=x`, {
          authorization: basic(people.a.clientId, people.a.secret),
        });
        expectOauthError(response, 400, 'invalid_request');
      });

      it('refuses a malformed Basic header', async () => {
        expectOauthError(await token(version, GRANT, { authorization: 'Basic !!!' }), 400, 'invalid_request');
      });

      it('answers a wrong secret and an unknown client alike: 401 invalid_client', async () => {
        const wrong = await token(version, GRANT, {
          authorization: basic(people.a.clientId, 'not-the-secret'),
        });
        const unknown = await token(version, GRANT, {
          authorization: basic('client-z-0123456789abcdef', 'x'),
        });
        expectOauthError(wrong, 401, 'invalid_client');
        expectOauthError(unknown, 401, 'invalid_client');
        expect(wrong.body).to.equal(unknown.body);
        expect(wrong.headers['www-authenticate']).to.equal(unknown.headers['www-authenticate']);
      });

      it('refuses a revoked VEN', async () => {
        await vtn.registry.revoke(people.a.clientId);
        const response = await token(version, GRANT, {
          authorization: basic(people.a.clientId, people.a.secret),
        });
        expectOauthError(response, 401, 'invalid_client');
      });

      it('refuses a VEN whose home certificate was revoked', async () => {
        vtn.revoked.add(serialOf(people.a.certificate));
        const response = await token(version, GRANT, {
          authorization: basic(people.a.clientId, people.a.secret),
        });
        expectOauthError(response, 401, 'invalid_client');
      });

      it('refuses other grant types', async () => {
        const response = await token(version, 'grant_type=password', {
          authorization: basic(people.a.clientId, people.a.secret),
        });
        expectOauthError(response, 400, 'unsupported_grant_type');
      });

      it('refuses a scope beyond what the VEN may have', async () => {
        const scope = version === '3.1.0' ? 'read_all' : 'read_bl';
        const response = await token(version, `${GRANT}&scope=${scope}`, {
          authorization: basic(people.a.clientId, people.a.secret),
        });
        expectOauthError(response, 400, 'invalid_scope');
      });

      it('takes no JSON body', async () => {
        const response = await vtn.app.inject({
          method: 'POST',
          url: `${basePath(version)}/auth/token`,
          headers: { 'content-type': 'application/json' },
          payload: {
            grant_type: 'client_credentials',
            client_id: people.a.clientId,
            client_secret: people.a.secret,
          },
        });
        expect(response.statusCode, response.body).to.be.oneOf([400, 415]);
        expect(response.json()).to.include({ status: response.statusCode, type: 'about:blank' });
        expect(response.json()).to.not.have.property('access_token');
      });

      it('refuses a form that repeats a parameter, with a problem', async () => {
        const response = await token(version, `${GRANT}&grant_type=client_credentials`, {
          authorization: basic(people.a.clientId, people.a.secret),
        });
        expect(response.statusCode).to.equal(400);
        expect(response.json()).to.include({ status: 400, title: 'Bad Request' });
        expect(response.json<{ detail: string }>().detail).to.match(/repeats the parameter grant_type/);
      });

      it('issues a business-logic token to the DSO by its mutual-TLS certificate', async () => {
        const response = await token(version, GRANT, DSO_CERTIFICATE);
        expect(response.statusCode, response.body).to.equal(200);
        const body = response.json<Record<string, unknown>>();
        expect(body.scope).to.equal(SCOPES[version].bl);
        expect((body.scope as string).split(' ')).to.include('read_all');
        expect(new AccessTokens(TOKEN_KEY).verify(body.access_token as string)).to.include({
          sub: 'bl:DSOMSP',
          role: 'bl',
        });
      });

      it('issues no token without credentials or certificate', async () => {
        expectOauthError(await token(version, GRANT), 401, 'invalid_client');
      });
    });
  }

  it('refuses a DSO certificate asking for a VEN scope', async () => {
    const response = await token('3.1.0', `${GRANT}&scope=write_reports`, DSO_CERTIFICATE);
    expectOauthError(response, 400, 'invalid_scope');
  });

  it('refuses an address after too many failed authentications: 429 with Retry-After', async () => {
    for (let attempt = 0; attempt < 30; attempt += 1) {
      const version = VERSIONS[attempt % 2]!;
      const failed = await token(version, GRANT, {
        authorization: basic(`unknown-client-${attempt}-0000`, 'x'),
      });
      expect(failed.statusCode).to.equal(401);
    }
    const refused = await token('3.1.0', GRANT, { authorization: basic(people.a.clientId, people.a.secret) });
    expectOauthError(refused, 429, 'slow_down');
    expect(Number(refused.headers['retry-after'])).to.be.within(1, 60);
  });

  it("refuses a VEN whose certificate is another utility's home's", async () => {
    const foreign = await testVen(people.pki, 'f', 'bus-3', 'UtilityBMSP');
    vtn.registry.add(foreign);
    const response = await token('3.1.0', GRANT, { authorization: basic(foreign.clientId, foreign.secret) });
    expectOauthError(response, 401, 'invalid_client');
  });

  it('issues no business-logic token for a certificate that is not a DSO identity', async () => {
    await vtn.app.close();
    const utilityDso = await people.pki.role('UtilityAMSP', 'dso');
    for (const certificate of [people.a.certificate, utilityDso]) {
      vtn = await startVtn(people, { clientCertificate: () => certificate });
      expectOauthError(await token('3.1.0', GRANT), 401, 'invalid_client');
      await vtn.app.close();
    }
    vtn = await startVtn(people);
  });

  it('issues tokens of the configured lifetime', async () => {
    await vtn.app.close();
    vtn = await startVtn(people, { tokenLifetimeSeconds: 300 });
    const response = await token('3.0.1', GRANT, {
      authorization: basic(people.a.clientId, people.a.secret),
    });
    expect(response.json()).to.include({ expires_in: 300 });
  });

  it('names the token endpoint at GET /auth/server in 3.1.0 only', async () => {
    const server = await vtn.app.inject({
      method: 'GET',
      url: '/openadr/3.1.0/auth/server',
      headers: { host: 'vtn.example' },
    });
    expect(server.statusCode).to.equal(200);
    expect(server.json()).to.deep.equal({ tokenURL: 'https://vtn.example/openadr/3.1.0/auth/token' });
    const old = await vtn.app.inject({ method: 'GET', url: '/openadr/3.0.1/auth/server' });
    expect(old.statusCode).to.equal(404);
    expect(old.json()).to.include({ status: 404, title: 'Not Found', type: 'about:blank' });
  });
});
