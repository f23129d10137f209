import type { FastifyInstance } from 'fastify';
import type { Ledger } from '../ledger/ports';

/** Device onboarding with the org's Fabric CA (register, enrol with a CSR, revoke). */
export function deviceRoutes(_ledger: Ledger, _options: unknown) {
  return (_app: FastifyInstance, _opts: unknown, done: (error?: Error) => void): void => {
    done();
  };
}
