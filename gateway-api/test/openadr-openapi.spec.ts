import { expect } from 'chai';
import { OPENAPI_PATH } from '../src/openadr/app';
import { bearer, startVtn, vtnPeople, type Vtn, type VtnPeople } from './support/openadr';

interface OpenApiDocument {
  readonly paths: Record<
    string,
    Record<string, { security?: unknown[]; responses: Record<string, unknown> }>
  >;
  readonly security: unknown[];
  readonly components: { securitySchemes: Record<string, unknown> };
}

const METHODS = ['get', 'post', 'put', 'delete'];

describe('OpenADR VTN: its OpenAPI document and undeclared methods', () => {
  let people: VtnPeople;
  let vtn: Vtn;

  before(async () => {
    people = await vtnPeople();
  });
  beforeEach(async () => {
    vtn = await startVtn(people);
  });
  afterEach(() => vtn.app.close());

  it('documents every route of both versions with its answers and a bearer scheme, the token endpoint without', async () => {
    const response = await vtn.app.inject({ method: 'GET', url: OPENAPI_PATH });
    expect(response.statusCode).to.equal(200);
    const document = response.json<OpenApiDocument>();
    expect(document.components.securitySchemes).to.have.property('bearer');
    expect(document.security).to.deep.equal([{ bearer: [] }]);
    const paths = Object.keys(document.paths);
    for (const base of ['/openadr/3.1.0', '/openadr/3.0.1']) {
      for (const resource of ['/programs', '/events', '/reports', '/subscriptions', '/vens', '/auth/token']) {
        expect(paths, `${base}${resource}`).to.include(`${base}${resource}`);
      }
    }
    expect(paths).to.include('/openadr/3.1.0/resources').and.include('/openadr/3.1.0/auth/server');
    expect(paths)
      .to.include('/openadr/3.0.1/vens/{venID}/resources')
      .and.not.include('/openadr/3.0.1/auth/server');
    for (const [path, operations] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(operations).filter(([name]) =>
        METHODS.includes(name),
      )) {
        expect(Object.keys(operation.responses), `${method} ${path}`).to.include('4XX');
      }
    }
    expect(document.paths['/openadr/3.1.0/auth/token']?.post?.security).to.deep.equal([]);
  });

  it('answers a method a path does not take with 405, Allow and a problem; an unknown path with 404', async () => {
    const headers = bearer('3.1.0', people.a.clientId);
    const patch = await vtn.app.inject({ method: 'PATCH', url: '/openadr/3.1.0/events', headers });
    expect(patch.statusCode).to.equal(405);
    expect(patch.headers.allow).to.equal('GET, HEAD, POST');
    expect(patch.json()).to.include({ status: 405, title: 'Method Not Allowed' });
    const unknown = await vtn.app.inject({ method: 'GET', url: '/openadr/3.1.0/notifiers', headers });
    expect(unknown.statusCode).to.equal(404);
    expect(unknown.json()).to.include({ status: 404 });
  });
});
