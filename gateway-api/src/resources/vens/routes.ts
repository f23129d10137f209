import { HttpError } from '../../http/errors';
import { routes, type RoutesPlugin } from '../../http/routes';
import type { Ledger } from '../../ledger/ports';
import type { FabricCaClient } from '../../services/fabric-ca';
import type { VenRegistry } from '../../services/ven-registry';
import { requireOwnUtility, type CallerRequest } from '../common/guards';
import type { DeviceRoutesOptions } from '../devices/routes';
import { listVensRoute, registerVenRoute, revokeVenRoute } from './schemas';
import { registerVen, requireAdminIdentity, revokeVen } from './service';

/** VENs get their home certificates from the org's CA: without it the routes answer 503. */
function configuredCa(options: DeviceRoutesOptions | undefined): FabricCaClient {
  if (options === undefined) {
    throw new HttpError(503, 'NOT_CONFIGURED', 'VEN management is not configured (it needs the Fabric CA)');
  }
  return options.ca;
}

/** VENs are a utility's (its gateway holds the relay) and managed by the utility's own admins. */
function requireOwnAdmin(ledger: Ledger, request: CallerRequest): void {
  requireOwnUtility(
    ledger,
    request,
    'managing OpenADR VENs',
    `VENs of ${ledger.mspId} are managed by its own admins only`,
  );
}

/**
 * OpenADR VENs of the utility's homes, managed by its admins: registering one has the CA issue the
 * home's certificate and stores the VEN's credentials on the ledger (the client secret as a scrypt
 * hash, shown in clear in the answer only); revoking one revokes its credentials on the ledger and
 * its home certificate at the CA. The VTN reads the same records through `registry`. `devices`
 * are the device routes' options (the CA), validated there.
 */
export function venRoutes(
  ledger: Ledger,
  devices: DeviceRoutesOptions | undefined,
  registry: VenRegistry,
): RoutesPlugin {
  return routes((app) => {
    app.post('/v1/vens', registerVenRoute, async (request, reply) => {
      const ca = configuredCa(devices);
      requireOwnAdmin(ledger, request);
      requireAdminIdentity(ledger);
      const registered = await registerVen(ca, registry, request.log, request.body);
      void reply.status(201).header('cache-control', 'no-store');
      return registered;
    });

    app.get('/v1/vens', listVensRoute, async (request) => {
      configuredCa(devices);
      requireOwnAdmin(ledger, request);
      return { vens: await registry.list() };
    });

    app.delete('/v1/vens/:clientId', revokeVenRoute, async (request) => {
      const ca = configuredCa(devices);
      requireOwnAdmin(ledger, request);
      requireAdminIdentity(ledger);
      return revokeVen(ledger, ca, registry, request.log, request.params.clientId);
    });
  });
}
