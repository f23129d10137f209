import type { FastifyBaseLogger, FastifyReply } from 'fastify';
import { HttpError } from '../../http/errors';
import type {
  EnrolmentAttempt,
  EnrolmentAttempts,
  EnrolmentOutcome,
  EnrolmentRefusal,
} from '../../services/enrolment-attempts';
import { FabricCaError } from '../../services/fabric-ca';
import { enrolmentSource } from './enrolment-source';

/**
 * The refusal codes of the enrolment limits. ENROLLMENT_ is spelt as in ENROLLMENT_REFUSED, the
 * answer to a wrong secret, so that clients match one family of codes.
 */
export const ENROLLMENT_LOCKED = 'ENROLLMENT_LOCKED';
export const TOO_MANY_ATTEMPTS = 'TOO_MANY_ATTEMPTS';

/** The answer to a refused attempt; `org` is the gateway's, whose admins may reset an id. */
function refusalError(refusal: EnrolmentRefusal, seconds: number, org: string): HttpError {
  switch (refusal.reason) {
    case 'source':
      return new HttpError(
        429,
        TOO_MANY_ATTEMPTS,
        `too many failed enrolments from this address; retry in ${seconds} s`,
      );
    case 'id-window':
      return new HttpError(
        429,
        ENROLLMENT_LOCKED,
        `too many failed enrolments for this enrolment id; retry in ${seconds} s, or ask an admin of ${org} to reset its enrolment attempts`,
      );
    case 'id-admin':
      return new HttpError(
        429,
        ENROLLMENT_LOCKED,
        `enrolment of this id is locked after repeated failures; an admin of ${org} must reset its enrolment attempts`,
      );
    case 'in-flight':
      return new HttpError(
        429,
        ENROLLMENT_LOCKED,
        `another enrolment attempt for this id is under way; retry in ${seconds} s`,
      );
  }
}

/**
 * Admits an enrolment attempt before the CA is asked, or refuses it with 429 and Retry-After
 * (whole seconds, at least 1) without asking the CA.
 */
export function admitEnrolment(
  attempts: EnrolmentAttempts,
  request: { readonly ip: string; readonly log: Pick<FastifyBaseLogger, 'info'> },
  reply: FastifyReply,
  enrollmentId: string,
  org: string,
): EnrolmentAttempt {
  const admission = attempts.begin(enrollmentId, enrolmentSource(request.ip));
  if (admission.admitted) {
    return admission.attempt;
  }
  const seconds = Math.max(1, Math.ceil(admission.refusal.retryAfterMs / 1000));
  void reply.header('retry-after', String(seconds));
  // Why, for the operators; the id stays out of the log (it names the home).
  request.log.info({ enrolmentRefusal: admission.refusal.reason }, 'enrolment attempt refused by its limits');
  throw refusalError(admission.refusal, seconds, org);
}

/**
 * How an attempt that reached the gateway's checks ended, for its counts: the CA's answer to a
 * wrong secret or an unknown id (`unauthenticated`, `not-found`: what caFailure answers
 * ENROLLMENT_REFUSED; the CA cannot be asked which) is a failure; every other error (a bad CSR,
 * the CA unreachable, conflicts) says nothing about the secret.
 */
export function outcomeOf(error: unknown): EnrolmentOutcome {
  return error instanceof FabricCaError && (error.kind === 'unauthenticated' || error.kind === 'not-found')
    ? 'failure'
    : 'neutral';
}
