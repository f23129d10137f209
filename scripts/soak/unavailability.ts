/**
 * Unavailability, pure: the longest time without a successful commit around each fault, from the
 * times at which devices were told their item committed (the gateway's 201 comes after the
 * commit), per utility, and the failed requests seen meanwhile.
 */

/** One event the load saw: a commit acknowledged, or a request that failed (retried or not). */
export interface LoadEvent {
  readonly at: number;
  readonly mspId: string;
  readonly kind: 'commit' | 'failure';
}

export interface Gap {
  /** Longest stretch without a commit inside the window, ms. */
  readonly longestMs: number;
  /** When that stretch began (the kill, or the commit before it). */
  readonly from: number;
  /** False when no commit at all came inside the window. */
  readonly recovered: boolean;
}

/**
 * The longest stretch without a commit within [from, to]: from `from` (or the last commit before
 * a later gap) to the next commit, and from the last commit to `to` (load that never came back
 * counts to the end of the window). `commits` need not be sorted.
 */
export function longestGap(commits: readonly number[], from: number, to: number): Gap {
  if (!(to >= from)) {
    throw new RangeError('a window ends after it starts');
  }
  const inside = commits.filter((at) => at > from && at <= to).sort((a, b) => a - b);
  let previous = from;
  let longest: { longestMs: number; from: number } = { longestMs: 0, from };
  for (const at of [...inside, to]) {
    if (at - previous > longest.longestMs) {
      longest = { longestMs: at - previous, from: previous };
    }
    previous = at;
  }
  return { ...longest, recovered: inside.length > 0 };
}

export interface FaultWindow {
  readonly number: number;
  readonly startAt: number;
  /** The next fault's start, or the end of the load. */
  readonly endAt: number;
}

export interface FaultUnavailability {
  readonly number: number;
  /** Longest gap per utility, ms, and whether commits came back within the window. */
  readonly byOrg: Readonly<Record<string, Gap>>;
  /** The worst of them. */
  readonly longestMs: number;
  /** Requests that failed (each attempt, retried or not) inside the window, per utility. */
  readonly failures: Readonly<Record<string, number>>;
}

/** Per fault window: the longest gap between commits and the failures, per utility in `orgs`. */
export function unavailabilityPerFault(
  events: readonly LoadEvent[],
  windows: readonly FaultWindow[],
  orgs: readonly string[],
): FaultUnavailability[] {
  return windows.map((window) => {
    const byOrg: Record<string, Gap> = {};
    const failures: Record<string, number> = {};
    for (const org of orgs) {
      const ofOrg = events.filter((event) => event.mspId === org);
      byOrg[org] = longestGap(
        ofOrg.filter((event) => event.kind === 'commit').map((event) => event.at),
        window.startAt,
        window.endAt,
      );
      failures[org] = ofOrg.filter(
        (event) => event.kind === 'failure' && event.at >= window.startAt && event.at < window.endAt,
      ).length;
    }
    const longestMs = Math.max(0, ...Object.values(byOrg).map((gap) => gap.longestMs));
    return { number: window.number, byOrg, longestMs, failures };
  });
}

/** Fault windows from the faults' actual start times: each lasts until the next one, the last until `endAt`. */
export function faultWindows(
  starts: readonly { number: number; startAt: number }[],
  endAt: number,
): FaultWindow[] {
  return starts.map((start, index) => ({
    number: start.number,
    startAt: start.startAt,
    endAt: Math.max(start.startAt, starts[index + 1]?.startAt ?? endAt),
  }));
}
