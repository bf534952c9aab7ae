/**
 * Base class of every error this library throws at start-up or on misuse. Request errors are Nest's
 * `HttpException`s instead, so clients get the usual `{statusCode, message, error}` body.
 */
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
