import { HttpError } from '../../http/errors';
import { routes, type RoutesPlugin } from '../../http/routes';
import type { Ledger } from '../../ledger/ports';
import { EnrolmentAttempts, type EnrolmentOutcome } from '../../services/enrolment-attempts';
import type { FabricCaClient } from '../../services/fabric-ca';
import type { CallerRequest } from '../common/guards';
import { checkCsr } from './csr';
import { admitEnrolment, outcomeOf } from './enrolment-limits';
import { caFailure, registerDevice, revokeDevice } from './service';
import {
  enrollDeviceRoute,
  enrollmentAttemptsRoute,
  registerDeviceRoute,
  resetAttemptsRoute,
  revokeDeviceRoute,
} from './schemas';

export { MAX_CSR_CHARACTERS } from './schemas';
export { deviceEnrollmentId } from './service';

/** What device onboarding needs: the org's Fabric CA, as its registrar. */
export interface DeviceRoutesOptions {
  readonly ca: FabricCaClient;
  /**
   * Failed enrolments per enrolment id and per source, checked before the CA is asked; default:
   * one with DEFAULT_ENROLMENT_ATTEMPT_LIMITS (the limits are always on).
   */
  readonly attempts?: EnrolmentAttempts;
}

function configured(options: DeviceRoutesOptions | undefined): DeviceRoutesOptions {
  if (options === undefined) {
    throw new HttpError(503, 'NOT_CONFIGURED', 'device onboarding is not configured');
  }
  return options;
}

function isDeviceRoutesOptions(value: unknown): value is DeviceRoutesOptions {
  const { ca, attempts } = (value ?? {}) as { ca?: unknown; attempts?: unknown };
  return (
    (attempts === undefined || attempts instanceof EnrolmentAttempts) &&
    typeof ca === 'object' &&
    ca !== null &&
    ['register', 'enroll', 'revoke', 'generateCrl'].every(
      (method) => typeof (ca as Record<string, unknown>)[method] === 'function',
    )
  );
}

/** Devices are managed by an admin of the org whose gateway (and CA) this is. */
function requireOwnAdmin(ledger: Ledger, request: CallerRequest): void {
  if (request.caller.mspId !== ledger.mspId) {
    throw new HttpError(403, 'FORBIDDEN', `devices of ${ledger.mspId} are managed by its own admins only`);
  }
}

/**
 * Device onboarding with the org's Fabric CA. An admin registers a home's device and hands it
 * the one-time secret; the device makes its own key pair and CSR and enrols through the public
 * /v1/enroll (its private key never reaches the gateway); an admin revokes a device at the CA and
 * on the ledger (governance RevokeDeviceCertificate), where the chaincode and the gateways check
 * it. Failed enrolments are limited per enrolment id and per source before the CA is asked (see
 * EnrolmentAttempts), so a stranger cannot run a device's identity into the CA's lockout; an admin
 * sees and lifts an id's lock. Without options.ca the routes answer 503.
 */
export function deviceRoutes(ledger: Ledger, options: unknown): RoutesPlugin {
  if (options !== undefined && !isDeviceRoutesOptions(options)) {
    throw new Error(
      'deviceRoutes: options must be { ca: FabricCaClient, attempts?: EnrolmentAttempts } or undefined',
    );
  }
  const devices = options;
  const attempts = options?.attempts ?? new EnrolmentAttempts();
  return routes((app) => {
    app.post('/v1/devices', registerDeviceRoute, async (request, reply) => {
      const { ca } = configured(devices);
      requireOwnAdmin(ledger, request);
      const registered = await registerDevice(ca, request.log, request.body);
      void reply.status(201).header('cache-control', 'no-store');
      return registered;
    });

    app.post('/v1/enroll', enrollDeviceRoute, async (request, reply) => {
      const { ca } = configured(devices);
      const { enrollmentId, secret, csr } = request.body;
      // Before the CA: an id or source that used up its failures never reaches it.
      const attempt = admitEnrolment(attempts, request, reply, enrollmentId, ledger.mspId);
      let outcome: EnrolmentOutcome = 'neutral';
      let certificate: string;
      try {
        await checkCsr(csr, enrollmentId);
        certificate = await ca.enroll({ enrollmentId, secret, csrPem: csr });
        outcome = 'success';
      } catch (error) {
        outcome = outcomeOf(error);
        throw caFailure(request.log, error, 'enroll');
      } finally {
        attempt.settle(outcome);
      }
      void reply.status(201).header('cache-control', 'no-store');
      return { certificate };
    });

    app.post(
      '/v1/devices/:enrollmentId/revoke',
      {
        ...revokeDeviceRoute,
        // The body is optional: no body means no options.
        preValidation: (request, _reply, next) => {
          request.body ??= {};
          next();
        },
      },
      async (request) => {
        const { ca } = configured(devices);
        requireOwnAdmin(ledger, request);
        const { enrollmentId } = request.params;
        const reason = request.body.reason ?? 'unspecified';
        const revokedSerials = await revokeDevice(ledger, ca, request.log, enrollmentId, reason);
        return { enrollmentId, revokedSerials };
      },
    );

    app.get('/v1/devices/:enrollmentId/enrollment-attempts', enrollmentAttemptsRoute, (request) => {
      configured(devices);
      requireOwnAdmin(ledger, request);
      const { enrollmentId } = request.params;
      const { retryAfterMs, ...status } = attempts.status(enrollmentId);
      const { maxFailuresPerId, windowMs, maxFailuresSinceSuccess, caPasswordAttempts } = attempts.limits;
      return Promise.resolve({
        enrollmentId,
        ...status,
        ...(retryAfterMs === undefined
          ? {}
          : { retryAfterSeconds: Math.max(1, Math.ceil(retryAfterMs / 1000)) }),
        limits: {
          maxFailuresPerWindow: maxFailuresPerId,
          windowSeconds: Math.ceil(windowMs / 1000),
          maxFailuresSinceSuccess,
          caPasswordAttempts,
        },
      });
    });

    app.delete(
      '/v1/devices/:enrollmentId/enrollment-attempts',
      resetAttemptsRoute,
      async (request, reply) => {
        configured(devices);
        requireOwnAdmin(ledger, request);
        const scope = request.query.scope ?? 'window';
        attempts.reset(request.params.enrollmentId, scope);
        request.log.info({ enrolmentReset: scope }, 'enrolment attempts reset by an admin');
        return reply.status(204).send();
      },
    );
  });
}
