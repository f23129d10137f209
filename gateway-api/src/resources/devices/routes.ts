import { HttpError } from '../../http/errors';
import { routes, type RoutesPlugin } from '../../http/routes';
import type { Ledger } from '../../ledger/ports';
import type { FabricCaClient } from '../../services/fabric-ca';
import type { CallerRequest } from '../common/guards';
import { checkCsr } from './csr';
import { caFailure, registerDevice, revokeDevice } from './service';
import { enrollDeviceRoute, registerDeviceRoute, revokeDeviceRoute } from './schemas';

export { MAX_CSR_CHARACTERS } from './schemas';
export { deviceEnrollmentId } from './service';

/** What device onboarding needs: the org's Fabric CA, as its registrar. */
export interface DeviceRoutesOptions {
  readonly ca: FabricCaClient;
}

function configured(options: DeviceRoutesOptions | undefined): DeviceRoutesOptions {
  if (options === undefined) {
    throw new HttpError(503, 'NOT_CONFIGURED', 'device onboarding is not configured');
  }
  return options;
}

function isDeviceRoutesOptions(value: unknown): value is DeviceRoutesOptions {
  const ca = (value as { ca?: unknown } | null | undefined)?.ca;
  return (
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
 * it. Without options.ca the routes answer 503.
 */
export function deviceRoutes(ledger: Ledger, options: unknown): RoutesPlugin {
  if (options !== undefined && !isDeviceRoutesOptions(options)) {
    throw new Error('deviceRoutes: options must be { ca: FabricCaClient } or undefined');
  }
  const devices = options;
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
      await checkCsr(csr, enrollmentId);
      let certificate: string;
      try {
        certificate = await ca.enroll({ enrollmentId, secret, csrPem: csr });
      } catch (error) {
        throw caFailure(request.log, error, 'enroll');
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
  });
}
