/**
 * Failed device enrolments (POST /v1/enroll, which needs no certificate) counted per enrolment id
 * and per source, so that nobody can run an identity into Fabric CA's lockout through this
 * gateway. Fabric CA counts wrong secrets per identity (`incorrect_password_attempts`) and refuses
 * it for good once the count reaches `cfg.identities.passwordattempts` (10 by default; the
 * network's CAs keep the default, see scripts/network/identities.sh). Its count never ages: only a
 * successful enrolment, or a new secret set by the CA's registrar, sets it back to 0. So a limit
 * per time window alone would only slow a stranger down; the count since the last success is what
 * keeps the CA's count below its lockout.
 */

/** Fabric CA's default `cfg.identities.passwordattempts`. */
export const FABRIC_CA_PASSWORD_ATTEMPTS = 10;

/** How long a caller is asked to wait while attempts for the same id or source are at the CA. */
const IN_FLIGHT_RETRY_MS = 2_000;

export interface EnrolmentAttemptLimits {
  /** Failed attempts per enrolment id within `windowMs` before the id waits for the window. */
  readonly maxFailuresPerId: number;
  /** Failed attempts per source (address, or IPv6 /64) within `windowMs`. */
  readonly maxFailuresPerSource: number;
  /** How long a failure counts towards the two limits above, in milliseconds. */
  readonly windowMs: number;
  /**
   * Failed attempts of an id at the CA since its last successful enrolment before only an admin
   * reset lets it try again. Below `caPasswordAttempts`, with some room for what this gateway
   * does not see: attempts made at the CA directly, counts a restart forgot.
   */
  readonly maxFailuresSinceSuccess: number;
  /** The CA's `cfg.identities.passwordattempts`: the construction refuses limits not below it. */
  readonly caPasswordAttempts: number;
  /** Enrolment ids tracked at most; the least recently failed are forgotten first. */
  readonly maxIds: number;
  /** Sources tracked at most; the least recently failed are forgotten first. */
  readonly maxSources: number;
}

export const DEFAULT_ENROLMENT_ATTEMPT_LIMITS: EnrolmentAttemptLimits = {
  maxFailuresPerId: 3,
  maxFailuresPerSource: 20,
  windowMs: 15 * 60_000,
  maxFailuresSinceSuccess: 6,
  caPasswordAttempts: FABRIC_CA_PASSWORD_ATTEMPTS,
  maxIds: 100_000,
  maxSources: 10_000,
};

export interface EnrolmentAttemptOptions extends Partial<EnrolmentAttemptLimits> {
  readonly now?: () => number;
}

/**
 * Why an attempt is refused before the CA is asked: its source or its id used up the failures of
 * the window; its id used up the failures until an admin reset; or attempts now at the CA could
 * use up what is left (they are counted as they start, so parallel requests cannot overshoot).
 */
export type EnrolmentRefusalReason = 'source' | 'id-window' | 'id-admin' | 'in-flight';

export interface EnrolmentRefusal {
  readonly reason: EnrolmentRefusalReason;
  /** When asking again may be admitted; for `id-admin`, when to look again. */
  readonly retryAfterMs: number;
}

/** How an admitted attempt ended: `neutral` when the CA did not judge the secret. */
export type EnrolmentOutcome = 'success' | 'failure' | 'neutral';

/** An admitted attempt; settle it exactly once (later calls do nothing). */
export interface EnrolmentAttempt {
  settle(outcome: EnrolmentOutcome): void;
}

export type EnrolmentAdmission =
  | { readonly admitted: true; readonly attempt: EnrolmentAttempt }
  | { readonly admitted: false; readonly refusal: EnrolmentRefusal };

/** What an admin may see of one id: counts and lock, never who tried. */
export interface EnrolmentAttemptStatus {
  readonly failuresInWindow: number;
  readonly failuresSinceSuccess: number;
  readonly attemptsInProgress: number;
  readonly lock: 'none' | 'window' | 'admin';
  /** For a `window` lock, how long it lasts. */
  readonly retryAfterMs?: number;
}

/** `window`: forget the failures of the window; `all`: also those since the last success. */
export type EnrolmentResetScope = 'window' | 'all';

interface Tally {
  /** Times of the failures still within the window, oldest first. */
  recent: number[];
  /** Attempts admitted and not yet settled. */
  inFlight: number;
  /** Failures since the last success or full reset (ids only); never ages, like the CA's. */
  sinceSuccess: number;
}

function positiveInteger(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`enrolment attempts: ${name} must be a positive integer`);
  }
  return value;
}

function validLimits(options: EnrolmentAttemptOptions): EnrolmentAttemptLimits {
  const pick = (name: keyof EnrolmentAttemptLimits): number =>
    positiveInteger(options[name] ?? DEFAULT_ENROLMENT_ATTEMPT_LIMITS[name], name);
  const limits: EnrolmentAttemptLimits = {
    maxFailuresPerId: pick('maxFailuresPerId'),
    maxFailuresPerSource: pick('maxFailuresPerSource'),
    windowMs: pick('windowMs'),
    maxFailuresSinceSuccess: pick('maxFailuresSinceSuccess'),
    caPasswordAttempts: pick('caPasswordAttempts'),
    maxIds: pick('maxIds'),
    maxSources: pick('maxSources'),
  };
  if (limits.maxFailuresSinceSuccess >= limits.caPasswordAttempts) {
    throw new RangeError(
      "enrolment attempts: maxFailuresSinceSuccess must be below the CA's passwordattempts " +
        `(${limits.caPasswordAttempts}), or the gateway could lock identities out at the CA`,
    );
  }
  if (limits.maxFailuresPerId > limits.maxFailuresSinceSuccess) {
    throw new RangeError('enrolment attempts: maxFailuresPerId must not exceed maxFailuresSinceSuccess');
  }
  return limits;
}

const isEmpty = (tally: Tally): boolean =>
  tally.recent.length === 0 && tally.inFlight === 0 && tally.sinceSuccess === 0;

/**
 * Counts failed enrolments per enrolment id and per source, in memory. An attempt is admitted
 * (and counted as under way) before the CA is asked, and refused without asking it when its
 * source or its id has used up its failures: so the CA sees at most `maxFailuresSinceSuccess`
 * wrong secrets per identity between two successes through this gateway, below its lockout.
 */
export class EnrolmentAttempts {
  readonly limits: EnrolmentAttemptLimits;
  private readonly ids = new Map<string, Tally>();
  private readonly sources = new Map<string, Tally>();
  private readonly now: () => number;

  constructor(options: EnrolmentAttemptOptions = {}) {
    this.limits = validLimits(options);
    this.now = options.now ?? Date.now;
  }

  /**
   * Admits an attempt of `enrollmentId` from `source`, or says why not. The source is judged
   * first: a source over its limit learns nothing about the id.
   */
  begin(enrollmentId: string, source: string): EnrolmentAdmission {
    const now = this.now();
    const bySource = this.current(this.sources, source, now);
    const byId = this.current(this.ids, enrollmentId, now);
    const refusal = this.sourceRefusal(bySource, now) ?? this.idRefusal(byId, now);
    if (refusal !== undefined) {
      return { admitted: false, refusal };
    }
    this.tallyOf(this.sources, source, this.limits.maxSources).inFlight += 1;
    this.tallyOf(this.ids, enrollmentId, this.limits.maxIds).inFlight += 1;
    let settled = false;
    return {
      admitted: true,
      attempt: {
        settle: (outcome) => {
          if (!settled) {
            settled = true;
            this.settle(enrollmentId, source, outcome);
          }
        },
      },
    };
  }

  /** Forgets an id's counts as an admin asks (see EnrolmentResetScope); nothing held is no error. */
  reset(enrollmentId: string, scope: EnrolmentResetScope): void {
    const tally = this.ids.get(enrollmentId);
    if (tally === undefined) {
      return;
    }
    tally.recent = [];
    if (scope === 'all') {
      tally.sinceSuccess = 0;
    }
    if (isEmpty(tally)) {
      this.ids.delete(enrollmentId);
    }
  }

  /** The counts of an id and the lock they make. */
  status(enrollmentId: string): EnrolmentAttemptStatus {
    const now = this.now();
    const tally = this.current(this.ids, enrollmentId, now);
    const counts = {
      failuresInWindow: tally?.recent.length ?? 0,
      failuresSinceSuccess: tally?.sinceSuccess ?? 0,
      attemptsInProgress: tally?.inFlight ?? 0,
    };
    const refusal = tally === undefined ? undefined : this.idRefusal({ ...tally, inFlight: 0 }, now);
    if (refusal?.reason === 'id-admin') {
      return { ...counts, lock: 'admin' };
    }
    if (refusal !== undefined) {
      return { ...counts, lock: 'window', retryAfterMs: refusal.retryAfterMs };
    }
    return { ...counts, lock: 'none' };
  }

  private settle(enrollmentId: string, source: string, outcome: EnrolmentOutcome): void {
    const now = this.now();
    const bySource = this.tallyOf(this.sources, source, this.limits.maxSources);
    const byId = this.tallyOf(this.ids, enrollmentId, this.limits.maxIds);
    // An entry forgotten meanwhile (memory bound) comes back without this attempt's reservation.
    bySource.inFlight = Math.max(0, bySource.inFlight - 1);
    byId.inFlight = Math.max(0, byId.inFlight - 1);
    if (outcome === 'failure') {
      bySource.recent.push(now);
      byId.recent.push(now);
      byId.sinceSuccess += 1;
    } else if (outcome === 'success') {
      // The CA has set its own count back to 0. The source keeps its failures: one right guess
      // among many wrong ones buys no fresh budget.
      byId.recent = [];
      byId.sinceSuccess = 0;
    }
    this.dropIfEmpty(this.sources, source, bySource);
    this.dropIfEmpty(this.ids, enrollmentId, byId);
  }

  private sourceRefusal(tally: Tally | undefined, now: number): EnrolmentRefusal | undefined {
    const max = this.limits.maxFailuresPerSource;
    if (tally === undefined || tally.recent.length + tally.inFlight < max) {
      return undefined;
    }
    return { reason: 'source', retryAfterMs: this.windowLeft(tally, max, now) ?? IN_FLIGHT_RETRY_MS };
  }

  private idRefusal(tally: Tally | undefined, now: number): EnrolmentRefusal | undefined {
    if (tally === undefined) {
      return undefined;
    }
    const { maxFailuresPerId, maxFailuresSinceSuccess, windowMs } = this.limits;
    if (tally.sinceSuccess >= maxFailuresSinceSuccess) {
      // Only an admin reset (or a restart) lifts this; the window is when to look again.
      return { reason: 'id-admin', retryAfterMs: windowMs };
    }
    const windowLeft = this.windowLeft(tally, maxFailuresPerId, now);
    if (windowLeft !== undefined) {
      return { reason: 'id-window', retryAfterMs: windowLeft };
    }
    if (
      tally.recent.length + tally.inFlight >= maxFailuresPerId ||
      tally.sinceSuccess + tally.inFlight >= maxFailuresSinceSuccess
    ) {
      return { reason: 'in-flight', retryAfterMs: IN_FLIGHT_RETRY_MS };
    }
    return undefined;
  }

  /** Until the failures within the window fall below `max`, when they are at it. */
  private windowLeft(tally: Tally, max: number, now: number): number | undefined {
    const oldestThatCounts = tally.recent[tally.recent.length - max];
    return oldestThatCounts === undefined ? undefined : oldestThatCounts + this.limits.windowMs - now;
  }

  /** The tally of `key` with the failures older than the window dropped, if it has one. */
  private current(map: Map<string, Tally>, key: string, now: number): Tally | undefined {
    const tally = map.get(key);
    if (tally === undefined) {
      return undefined;
    }
    const since = now - this.limits.windowMs;
    const firstKept = tally.recent.findIndex((time) => time > since);
    tally.recent = firstKept === -1 ? [] : tally.recent.slice(firstKept);
    return this.dropIfEmpty(map, key, tally) ? undefined : tally;
  }

  /** The tally of `key`, made the most recent; the least recent go beyond `max` entries. */
  private tallyOf(map: Map<string, Tally>, key: string, max: number): Tally {
    const tally = map.get(key) ?? { recent: [], inFlight: 0, sinceSuccess: 0 };
    // Map order is insertion order: re-inserting moves the key to the end.
    map.delete(key);
    map.set(key, tally);
    for (const oldest of map.keys()) {
      if (map.size <= max) {
        break;
      }
      map.delete(oldest);
    }
    return tally;
  }

  private dropIfEmpty(map: Map<string, Tally>, key: string, tally: Tally): boolean {
    if (!isEmpty(tally)) {
      return false;
    }
    if (map.get(key) === tally) {
      map.delete(key);
    }
    return true;
  }
}
