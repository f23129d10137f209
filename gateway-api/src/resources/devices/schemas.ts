import { resourceRoutes } from '../../http/routes';
import {
  answerObject,
  busId,
  closedObject,
  errorResponse,
  errorResponses,
  homeId,
  idParams,
  integer,
  text,
} from '../common/schemas';
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

/** Path params of the routes about one device: its enrolment id. */
export const enrollmentIdParams = idParams('enrollmentId', enrollmentIdSchema);

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

/** The refusal of an enrolment by its limits, before the CA is asked. */
const enrolmentLimited = {
  ...errorResponse,
  description:
    'Too many failed enrolments for this enrolment id (ENROLLMENT_LOCKED) or from this address ' +
    "(TOO_MANY_ATTEMPTS), refused without asking the CA: this gateway never runs an identity into the CA's own lockout",
  headers: {
    'retry-after': { type: 'integer', description: 'Seconds until asking again may be admitted' },
  },
} as const;

export const enrollment = answerObject({ certificate: { type: 'string', description: 'PEM certificate' } });

export const enrollDeviceRoute = route(
  'HEMS device (no client certificate yet): enrol once with its secret and its own CSR, get its certificate',
  {
    public: true,
    bodyLimit: 16 * 1024,
    body: enrollBody,
    response: { 201: enrollment, ...errorResponses(400, 401, 409, 503), 429: enrolmentLimited },
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
    params: enrollmentIdParams,
    body: revokeBody,
    response: { 200: revocation, ...errorResponses(404, 502, 503) },
  },
);

export const enrollmentAttempts = answerObject(
  {
    enrollmentId: text,
    failuresInWindow: { ...integer, description: 'Failed attempts within the window' },
    failuresSinceSuccess: {
      ...integer,
      description:
        "Failed attempts since the last successful enrolment (or full reset): as far as this gateway knows, the CA's own count of wrong secrets",
    },
    attemptsInProgress: { ...integer, description: 'Attempts now at the CA' },
    lock: {
      type: 'string',
      enum: ['none', 'window', 'admin'],
      description:
        'window: refused until failures age out of the window (retryAfterSeconds); admin: refused until an admin resets',
    },
    limits: answerObject({
      maxFailuresPerWindow: integer,
      windowSeconds: integer,
      maxFailuresSinceSuccess: integer,
      caPasswordAttempts: {
        ...integer,
        description: "The CA's lockout (cfg.identities.passwordattempts) the limits stay below",
      },
    }),
  },
  { retryAfterSeconds: { ...integer, description: 'For a window lock: how long it lasts' } },
);

export const enrollmentAttemptsRoute = route(
  "Org admin: a device's failed enrolment attempts as this gateway counts them, and whether it may try",
  {
    roles: ['admin'],
    params: enrollmentIdParams,
    response: { 200: enrollmentAttempts, ...errorResponses(503) },
  },
);

export const resetAttemptsQuery = closedObject({
  scope: {
    type: 'string',
    enum: ['window', 'all'],
    description:
      'window (default): forget the failures of the window, so the device may try again now; all: also ' +
      "those since its last success. Use all only after giving the identity a new secret at the CA: the CA's " +
      'own count of wrong secrets, which locks the identity at the CA, goes back to 0 only then or on a success',
  },
});

export const resetAttemptsRoute = route(
  "Org admin: lift this gateway's lock on a device's enrolment after repeated failed attempts",
  {
    roles: ['admin'],
    params: enrollmentIdParams,
    querystring: resetAttemptsQuery,
    response: { 204: { type: 'null', description: 'Reset' }, ...errorResponses(503) },
  },
);
