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
