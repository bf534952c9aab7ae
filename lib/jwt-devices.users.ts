import { Inject, Injectable, Logger } from '@nestjs/common';
import { JWT_DEVICES_OPTIONS } from './jwt-devices.constants.js';
import { describeFailure, JwtDevicesRequestError, StoreUnavailableError } from './jwt-devices.errors.js';

/**
 * The app's users, as the module calls them (the `users` option). When the app's user store fails
 * (a database down, a timeout), the request gets the module's 503, never a 500: the failure is logged
 * by class and code only, since driver messages can carry credentials or parameters. Errors that are
 * the app's own answers pass through unchanged: Nest's HTTP exceptions (anything with `getStatus()`)
 * and the module's own errors.
 */
@Injectable()
export class AppUsers {
  private readonly logger = new Logger('JwtDevicesUsers');

  constructor(@Inject(JWT_DEVICES_OPTIONS) private readonly options: { readonly users: Pick<JwtDevicesUsers, 'validateUser' | 'findUser'> }) {}

  /** Whether the app gave `users.validateUser` (else it logs in on its own routes). */
  get canValidate(): boolean {
    return this.options.users.validateUser !== undefined;
  }

  async validateUser(username: string, password: string): Promise<object | null | undefined> {
    return this.call('validateUser', () => this.options.users.validateUser!(username, password));
  }

  async findUser(userId: string): Promise<object | null | undefined> {
    return this.call('findUser', () => this.options.users.findUser(userId));
  }

  private async call<T>(hook: string, run: () => Promise<T> | T): Promise<T> {
    try {
      return await run();
    } catch (error) {
      if (typeof (error as { getStatus?: unknown } | null)?.getStatus === 'function' || error instanceof JwtDevicesRequestError) throw error;
      this.logger.error(`users.${hook} failed: ${describeFailure(error)}`);
      throw new StoreUnavailableError('The user store is unavailable; try again in a moment.');
    }
  }
}

/**
 * How the module reaches the app's users. The module never owns a user table: it stores only the id
 * that {@link JwtDevicesUsers.getUserId} returns, as a string.
 *
 * @typeParam TUser the app's user type, as its own services return it.
 */
export interface JwtDevicesUsers<TUser extends object = any> {
  /**
   * Checks a username and password for `POST /auth-token/`. Return the user, or `null`/`undefined` when
   * the credentials are wrong or the account may not log in (the client then gets a 400).
   * Leave it out when the app has its own login flow: the route then answers 404 and the app issues
   * devices with `DevicesService.issue()`.
   */
  validateUser?(username: string, password: string): Promise<TUser | null | undefined> | TUser | null | undefined;

  /**
   * Finds the user a verified token belongs to. Called on every authenticated request (the result
   * becomes `request.user`) and on every refresh. Return `null`/`undefined` for a user that no longer
   * exists: its JWTs are then refused with 401 and its permanent tokens with 400.
   * Apps that want no lookup per request can return a plain object, e.g. `(id) => ({ id })`.
   */
  findUser(userId: string): Promise<TUser | null | undefined> | TUser | null | undefined;

  /**
   * The user's id, stored on the device and sent as the JWT's `user_id` claim.
   * @default (user) => user.id
   */
  getUserId?(user: TUser): string | number;

  /**
   * Extra claims for the user's JWTs. The module's own claims (`user_id`, `device_id`, `iat`, `exp`)
   * always win over these.
   * @default (user) => ({ username: user.username }) when the user has a string `username`, else `{}`
   */
  getClaims?(user: TUser): Record<string, unknown>;
}
