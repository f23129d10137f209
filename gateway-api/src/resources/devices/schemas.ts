import { resourceRoutes } from '../../http/routes';
import { answerObject, busId, closedObject, errorResponses, homeId, idParams, text } from '../common/schemas';
import { DEVICE_ENROLLMENT_ID_PATTERN } from '@hems/protocol';
import { REVOCATION_REASONS } from '../../services/fabric-ca';

export const MAX_CSR_CHARACTERS = 4096;

const route = resourceRoutes('devices');

const enrollmentIdSchema = {
  type: 'string',
  pattern: DEVICE_ENROLLMENT_ID_PATTERN,
  description: 'Enrolment id of a HEMS device, as POST /v1/devices answered it',
} as const;

export const registerBody = closedObject(
  {
    homeId: { ...homeId, description: 'Home identifier (hems.home)' },
    bus: { ...busId, description: 'Feeder bus of the home (hems.bus)' },
  },
  'homeId',
  'bus',
);

export const enrollBody = closedObject(
  {
    enrollmentId: enrollmentIdSchema,
    secret: { type: 'string', pattern: '^[!-~]{1,128}$', description: 'The one-time enrolment secret' },
    csr: {
      type: 'string',
      minLength: 1,
      maxLength: MAX_CSR_CHARACTERS,
      description:
        'PEM PKCS#10 request made by the device with its own ECDSA P-256 key; subject CN = enrollmentId',
    },
  },
  'enrollmentId',
  'secret',
  'csr',
);

export const revokeParams = idParams('enrollmentId', enrollmentIdSchema);

export const revokeBody = closedObject({
  reason: {
    type: 'string',
    enum: REVOCATION_REASONS,
    description: 'RFC 5280 reason as Fabric CA names it; default unspecified',
  },
});

export const registration = answerObject({ enrollmentId: text, secret: text });

export const registerDeviceRoute = route(
  "Org admin: register a home's HEMS device at the org's Fabric CA; the one-time secret is shown once",
  { roles: ['admin'], body: registerBody, response: { 201: registration, ...errorResponses(409, 503) } },
);

export const enrollment = answerObject({ certificate: { type: 'string', description: 'PEM certificate' } });

export const enrollDeviceRoute = route(
  'HEMS device (no client certificate yet): enrol once with its secret and its own CSR, get its certificate',
  {
    public: true,
    bodyLimit: 16 * 1024,
    body: enrollBody,
    response: { 201: enrollment, ...errorResponses(400, 401, 409, 503) },
  },
);

export const revocation = answerObject({
  enrollmentId: text,
  revokedSerials: {
    type: 'array',
    items: text,
    description: 'Upper-case hex serials revoked now (empty when nothing was left to revoke)',
  },
});

export const revokeDeviceRoute = route(
  "Org admin: revoke a device's certificates at the CA and record them in the chaincode's revocation list",
  {
    roles: ['admin'],
    params: revokeParams,
    body: revokeBody,
    response: { 200: revocation, ...errorResponses(404, 502, 503) },
  },
);
