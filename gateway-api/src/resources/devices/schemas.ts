import { answerObject, text } from '../common/schemas';
import { BUS_ID_PATTERN, DEVICE_ENROLLMENT_ID_PATTERN, HOME_ID_PATTERN } from '@hems/protocol';
import { REVOCATION_REASONS } from '../../services/fabric-ca';

export const MAX_CSR_CHARACTERS = 4096;

const enrollmentIdSchema = {
  type: 'string',
  pattern: DEVICE_ENROLLMENT_ID_PATTERN,
  description: 'Enrolment id of a HEMS device, as POST /v1/devices answered it',
} as const;

export const registerBody = {
  type: 'object',
  required: ['homeId', 'bus'],
  additionalProperties: false,
  properties: {
    homeId: { type: 'string', pattern: HOME_ID_PATTERN, description: 'Home identifier (hems.home)' },
    bus: { type: 'string', pattern: BUS_ID_PATTERN, description: 'Feeder bus of the home (hems.bus)' },
  },
} as const;

export const enrollBody = {
  type: 'object',
  required: ['enrollmentId', 'secret', 'csr'],
  additionalProperties: false,
  properties: {
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
} as const;

export const revokeParams = {
  type: 'object',
  required: ['enrollmentId'],
  additionalProperties: false,
  properties: { enrollmentId: enrollmentIdSchema },
} as const;

export const revokeBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    reason: {
      type: 'string',
      enum: REVOCATION_REASONS,
      description: 'RFC 5280 reason as Fabric CA names it; default unspecified',
    },
  },
} as const;

export const errorRef = { $ref: 'ErrorResponse#' } as const;

export const registration = {
  type: 'object',
  required: ['enrollmentId', 'secret'],
  properties: { enrollmentId: { type: 'string' }, secret: { type: 'string' } },
} as const;

export const enrollment = {
  type: 'object',
  required: ['certificate'],
  properties: { certificate: { type: 'string', description: 'PEM certificate' } },
} as const;

export const revocation = answerObject({
  enrollmentId: text,
  revokedSerials: {
    type: 'array',
    items: text,
    description: 'Upper-case hex serials revoked now (empty when nothing was left to revoke)',
  },
});

export const registerDeviceRoute = {
  tags: ['devices'],
  summary:
    "Org admin: register a home's HEMS device at the org's Fabric CA; the one-time secret is shown once",
  body: registerBody,
  response: { 201: registration, 409: errorRef, 503: errorRef },
} as const;

export const enrollDeviceRoute = {
  tags: ['devices'],
  summary:
    'HEMS device (no client certificate yet): enrol once with its secret and its own CSR, get its certificate',
  body: enrollBody,
  response: { 201: enrollment, 400: errorRef, 401: errorRef, 409: errorRef, 503: errorRef },
} as const;

export const revokeDeviceRoute = {
  tags: ['devices'],
  summary:
    "Org admin: revoke a device's certificates at the CA and record them in the chaincode's revocation list",
  params: revokeParams,
  body: revokeBody,
  response: { 200: revocation, 404: errorRef, 502: errorRef, 503: errorRef },
} as const;
