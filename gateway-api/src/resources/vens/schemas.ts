import { resourceRoutes } from '../../http/routes';
import { VEN_CLIENT_ID_PATTERN } from '../../services/ven-secrets';
import { answerObject, busId, closedObject, errorResponses, homeId, idParams, text } from '../common/schemas';

const route = resourceRoutes('vens');

/** VEN names as the chaincode takes them: 1-128 characters, here without control characters. */
export const MAX_VEN_NAME_CHARACTERS = 128;

const clientIdSchema = {
  type: 'string',
  pattern: VEN_CLIENT_ID_PATTERN,
  description: "The VEN's OAuth 2 client id, as POST /v1/vens answered it",
} as const;

export const registerVenBody = closedObject(
  {
    homeId: { ...homeId, description: 'Home identifier (hems.home of the home certificate)' },
    bus: { ...busId, description: 'Feeder bus of the home (hems.bus)' },
    venName: {
      type: 'string',
      minLength: 1,
      maxLength: MAX_VEN_NAME_CHARACTERS,
      pattern: '^[^\\u0000-\\u001f\\u007f]+$',
      description: "The VEN's OpenADR venName; default the home id",
    },
  },
  'homeId',
  'bus',
);

/** Path params of the routes about one VEN: its client id. */
export const clientIdParams = idParams('clientId', clientIdSchema);

export const venCredentials = answerObject({
  clientId: { ...text, description: 'OAuth 2 client id of the VEN at this utility’s VTN' },
  clientSecret: {
    ...text,
    description: 'OAuth 2 client secret: shown in this answer only; the ledger keeps only its scrypt hash',
  },
  venId: { ...text, description: "The VEN's OpenADR objectID" },
  venName: text,
  enrollmentId: {
    ...text,
    description: "The CA identity of the VEN's home certificate (oadr-…), revoked with the VEN",
  },
});

export const registerVenRoute = route(
  "Utility admin: register an OpenADR VEN of one of the utility's homes; the client secret is shown once",
  {
    roles: ['admin'],
    body: registerVenBody,
    response: { 201: venCredentials, ...errorResponses(409, 502, 503) },
  },
);

const venSummary = answerObject(
  {
    clientId: text,
    venId: text,
    venName: text,
    homeId: text,
    bus: text,
    createdAt: { ...text, description: 'ISO 8601 time of the registration' },
  },
  { revokedAt: { ...text, description: 'ISO 8601 time of the revocation; absent while the VEN is active' } },
);

export const venList = answerObject({
  vens: { type: 'array', items: venSummary, description: 'Without secret hashes or certificates' },
});

export const listVensRoute = route("Utility admin: the utility's OpenADR VENs, revoked ones included", {
  roles: ['admin'],
  response: { 200: venList, ...errorResponses(503) },
});

export const venRevocation = answerObject({
  clientId: text,
  revokedAt: { ...text, description: 'ISO 8601 time the ledger revoked the credentials' },
  revokedSerials: {
    type: 'array',
    items: text,
    description: "Upper-case hex serials of the VEN's home certificate revoked at the CA now",
  },
});

export const revokeVenRoute = route(
  "Utility admin: revoke a VEN's credentials on the ledger and its home certificate at the CA",
  {
    roles: ['admin'],
    params: clientIdParams,
    response: { 200: venRevocation, ...errorResponses(404, 409, 502, 503) },
  },
);
