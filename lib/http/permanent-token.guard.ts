import { BadRequestException, type ExecutionContext, HttpException, HttpStatus, Injectable } from '@nestjs/common';
import { AuthGuard } from '@nestjs/passport';
import type { RefreshResponse } from '../devices.responses.js';
import { PERMANENT_TOKEN_HEADER, PERMANENT_TOKEN_STRATEGY, REQUEST_REFRESH_PROPERTY } from '../jwt-devices.constants.js';
import { CookieTransport } from './cookie-transport.js';
import { authenticateDirectly } from './direct-auth.js';
import { toHttpException } from './jwt-devices.http-errors.js';
import type { StrategyRequest } from './device-jwt.strategy.js';
import { PermanentTokenStrategy } from './permanent-token.strategy.js';

/**
 * Guards a refresh route with the `Permanent-Token` header (400 when missing, unknown or expired; the
 * answer is then on `request.jwtDeviceRefresh`). It is `AuthGuard('jwt-devices-permanent-token')` with
 * the same hooks, running this module's strategy directly. A route of your own that uses it also needs
 * `@AllowPermanentToken()`, or `PermittedHeadersGuard` refuses it.
 *
 * With the `cookieTransport` option, a request without the header that says
 * `Permanent-Token-Transport: cookie` is refreshed from the cookie instead: the cookie is renewed (or
 * replaced, with rotation) and the answer carries the JWT only; a refused token clears the cookie.
 */
@Injectable()
export class PermanentTokenGuard extends AuthGuard(PERMANENT_TOKEN_STRATEGY) {
  constructor(
    protected readonly strategy: PermanentTokenStrategy,
    protected readonly cookies: CookieTransport,
  ) {
    super();
  }

  override async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = this.getRequest(context) as StrategyRequest & { [REQUEST_REFRESH_PROPERTY]?: RefreshResponse };
    if (request.headers?.[PERMANENT_TOKEN_HEADER] !== undefined || !this.cookies.requested(request.headers)) {
      return authenticateDirectly(this, context, (header: StrategyRequest) => this.strategy.authenticateRequest(header));
    }
    const response = context.switchToHttp().getResponse<object>();
    const presented = this.cookies.read(request.headers);
    try {
      if (presented === undefined) throw new BadRequestException('No permanent-token cookie was sent; sign in again.');
      await authenticateDirectly(this, context, (cookie: StrategyRequest) => this.strategy.authenticateRequest(cookie, presented));
    } catch (error) {
      // A refused token is dead for good: drop it. A store failure (503) is not the token's fault: keep it.
      if (error instanceof HttpException && error.getStatus() === HttpStatus.BAD_REQUEST) this.cookies.clear(response);
      throw error;
    }
    const answer = request[REQUEST_REFRESH_PROPERTY]!;
    this.cookies.set(response, answer.permanent_token ?? presented);
    request[REQUEST_REFRESH_PROPERTY] = { token: answer.token };
    return true;
  }

  /** Turns the strategy's outcome into `request.user`: a refused token is a 400, a store failure a 503. */
  override handleRequest<TUser = unknown>(err: unknown, user: unknown, info?: unknown, _context?: ExecutionContext, _status?: unknown): TUser {
    if (err) throw toHttpException(err);
    if (!user) throw new BadRequestException(typeof info === 'string' ? info : 'Invalid permanent token.');
    return user as TUser;
  }
}
