/**
 * When a login's credential check began, on this process's monotonic clock. A login whose check began
 * before its user's devices were all revoked (on any instance) gets no device: see
 * `SessionPolicy.open`. Make one before checking credentials, with `DevicesService.loginAttempt()`.
 */
export class LoginAttempt {
  private readonly startedAt = performance.now();

  /** Milliseconds since the attempt began. */
  elapsed(): number {
    return performance.now() - this.startedAt;
  }
}

/**
 * Uncertainty of the stores' clocks in milliseconds (SQLite's is millisecond-grained; PostgreSQL and
 * MySQL store milliseconds): a revocation this close to a login's start counts as after it.
 */
export const REVOCATION_CLOCK_MARGIN_MS = 1;

/**
 * How long `revokeAllForUser()` lasts at least after its mark, so that a login its caller starts
 * afterwards (say, for the device that changed the password) is clearly after it, beyond the margin and
 * beyond the event-loop lag between the mark read's answer and the login's clock reading (a few ms on a
 * loaded process; the wait errs on the safe side and only delays a rare operation).
 */
export const REVOCATION_SETTLE_MS = 50;

/**
 * Whether a revocation `sinceRevoked` ms ago (by the store's clock, read just now) happened after `attempt`
 * began. The read's own return trip makes the login look a little later than it was: on the safe side.
 */
export function revokedDuring(attempt: LoginAttempt, sinceRevoked: number | null): boolean {
  return sinceRevoked !== null && sinceRevoked <= attempt.elapsed() + REVOCATION_CLOCK_MARGIN_MS;
}
