/**
 * Every error the library throws. Start-up and misuse errors are {@link JwtDevicesError}s; request
 * errors are {@link JwtDevicesRequestError}s that say what went wrong in the domain's words, with no
 * HTTP status in them. `http/jwt-devices.http-errors.ts` is the one place that maps them to HTTP, so
 * GraphQL, WebSocket and service callers reuse the same rules without HTTP meanings leaking in.
 */

/** Base class of every error this library throws. */
export class JwtDevicesError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** An option passed to `JwtDevicesModule.forRoot()`/`forRootAsync()` is missing or invalid. */
export class JwtDevicesOptionsError extends JwtDevicesError {
  constructor(
    /** The option at fault, e.g. `permanentTokenExpiration`. */
    readonly option: string,
    problem: string,
  ) {
    super(`JwtDevicesModule option "${option}" ${problem}`);
  }
}

/**
 * A request the module refuses. The message is written for the client developer; it never holds a
 * token, hash or secret.
 */
export abstract class JwtDevicesRequestError extends JwtDevicesError {}

/** Login: the credentials are missing, malformed or wrong (no device was created). */
export class InvalidCredentialsError extends JwtDevicesRequestError {
  constructor(message = 'Unable to log in with provided credentials.') {
    super(message);
  }
}

/** Login: the app configured no `users.validateUser`, so it logs in through its own route. */
export class LoginNotConfiguredError extends JwtDevicesRequestError {
  constructor() {
    super('This app does not log in with username and password here; use its own login route.');
  }
}

/** A JWT is missing, malformed, forged, of a deleted or expired device, or of a user that is gone. */
export class InvalidTokenError extends JwtDevicesRequestError {
  constructor(message = 'Invalid token, or its device has been logged out; log in again.') {
    super(message);
  }
}

/** No JWT was sent at all. */
export class MissingTokenError extends InvalidTokenError {
  constructor() {
    super('Authentication credentials were not provided: send "Authorization: Bearer <token>".');
  }
}

/** A JWT that was valid has passed its `exp`: the client refreshes it with its permanent token. */
export class TokenExpiredError extends InvalidTokenError {
  constructor() {
    super('Token has expired; get a new one from the refresh route with the permanent token.');
  }
}

/** A permanent token is missing, unknown, expired, or its device or user is gone. */
export class InvalidPermanentTokenError extends JwtDevicesRequestError {
  constructor(message = 'Invalid permanent token.') {
    super(message);
  }
}

/**
 * A permanent token that rotation replaced moments ago (within the reuse interval), more than one
 * rotation back: a request that raced newer refreshes of the same client. Refused, but not theft, and
 * the client's newer token stays good.
 */
export class StalePermanentTokenError extends InvalidPermanentTokenError {
  constructor() {
    super('This permanent token was replaced moments ago by a newer refresh; use the newer one.');
  }
}

/**
 * A permanent token that rotation had already replaced was presented after the reuse interval: it may
 * have been stolen, so the device was signed out.
 */
export class PermanentTokenReusedError extends InvalidPermanentTokenError {
  constructor() {
    super(
      'This permanent token was already replaced by a newer one, so it may have been stolen: the device has been signed out. Log in again.',
    );
  }
}

/**
 * A login whose device newer logins of the same user pushed out at once (`devicesPerUser`): its token
 * would be dead on arrival, so none is issued. The client logs in again.
 */
export class DeviceEvictedError extends JwtDevicesRequestError {
  constructor() {
    super('Newer logins of this user replaced this device at once (device limit reached); log in again.');
  }
}

/**
 * A login whose credential check began before `revokeAllForUser()` of its user (a password change, a
 * sign-out of every device) on any instance: the credentials it checked may be the old ones, so its
 * device is deleted and no token is issued. The client logs in again (with the new password).
 */
export class LoginRevokedError extends JwtDevicesRequestError {
  constructor() {
    super("This user's sessions were revoked while this login was being checked (e.g. a password change); log in again.");
  }
}

/** The app issues plain JWTs (`permanentTokenAuth: false`): there are no devices to list or sign out. */
export class NoDevicesError extends JwtDevicesRequestError {
  constructor() {
    super('This app issues plain JWTs without devices (permanentTokenAuth: false): there is no device to sign out, and each JWT expires on its own.');
  }
}

/** The user has no device with this id (another user's device is never touched). */
export class DeviceNotFoundError extends JwtDevicesRequestError {
  constructor() {
    super('Device does not exist.');
  }
}

/** A value the client sent is not acceptable (a device name, a device id). */
export class InvalidDeviceInputError extends JwtDevicesRequestError {}

/**
 * The device store, or the app's user store behind the `users` option, failed (server down,
 * connection cut, pool exhausted). The client may retry; the cause is logged by class and code only.
 */
export class StoreUnavailableError extends JwtDevicesRequestError {
  constructor(message = 'The device store is unavailable; try again in a moment.') {
    super(message);
  }
}

/**
 * A failure as a log line may show it: the error's class and its code (a driver's `code`, or TypeORM's
 * `driverError.code`), e.g. `QueryFailedError (ECONNREFUSED)`. Never the message: drivers put
 * parameters, hosts and credentials there.
 */
export function describeFailure(error: unknown): string {
  const { name, code, driverError } = (error ?? {}) as { name?: unknown; code?: unknown; driverError?: { code?: unknown } };
  const shown = code ?? driverError?.code;
  return `${typeof name === 'string' ? name : 'Error'}${typeof shown === 'string' || typeof shown === 'number' ? ` (${shown})` : ''}`;
}

/** A value as an error message can show it: never throws (bigints, cycles), never longer than 100 characters. */
export function describeValue(value: unknown): string {
  let text: string;
  try {
    text = typeof value === 'bigint' ? `${value}n` : (JSON.stringify(value) ?? String(value));
  } catch {
    text = Object.prototype.toString.call(value);
  }
  return text.length > 100 ? `${text.slice(0, 97)}...` : text;
}
