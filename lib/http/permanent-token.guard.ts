import { BadRequestException, ConflictException, type ExecutionContext, HttpException, HttpStatus, Injectable } from '@nestjs/common';
import { AuthGuard } from '@nestjs/passport';
import type { RefreshResponse, RefreshRouteResponse } from '../devices.responses.js';
import { PERMANENT_TOKEN_HEADER, PERMANENT_TOKEN_STRATEGY, REQUEST_REFRESH_PROPERTY, SIGNED_OUT_ANSWER_METADATA } from '../jwt-devices.constants.js';
import { StalePermanentTokenError } from '../jwt-devices.errors.js';
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
 * replaced, with rotation) and the answer carries the JWT only. No cookie, a malformed or doubled one,
 * or a refused token clears the cookie; on the module's refresh route the answer is then
 * `{ token: null }` (signed out is a normal state for a page, and browsers log every 4xx as an error),
 * with `request.user` unset; on any other route it stays a 400. A store failure (503) keeps the cookie,
 * and so does a token that newer refreshes of the same browser replaced moments ago (409: retry).
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
    const request = this.getRequest(context) as StrategyRequest & { [REQUEST_REFRESH_PROPERTY]?: RefreshRouteResponse };
    if (request.headers?.[PERMANENT_TOKEN_HEADER] !== undefined || !this.cookies.requested(request.headers)) {
      return authenticateDirectly(this, context, (header: StrategyRequest) => this.strategy.authenticateRequest(header));
    }
    const response = context.switchToHttp().getResponse<object>();
    const presented = this.cookies.read(request.headers);
    let stale = false;
    try {
      if (presented === undefined) throw new BadRequestException('No permanent-token cookie was sent; sign in again.');
      await authenticateDirectly(this, context, (cookie: StrategyRequest) =>
        this.strategy.authenticateRequest(cookie, presented).catch((error: unknown) => {
          stale = error instanceof StalePermanentTokenError;
          throw error;
        }),
      );
    } catch (error) {
      // Another tab's refresh replaced the cookie while this one was on its way: the jar holds the newer
      // token, so keep it, and say "retry" (the browser sends the newer one).
      if (stale) throw new ConflictException(new StalePermanentTokenError().message);
      // A store failure (503) is not the token's fault: keep the cookie. A refused token is dead for good: drop it.
      if (!(error instanceof HttpException) || error.getStatus() !== HttpStatus.BAD_REQUEST) throw error;
      this.cookies.clear(response);
      // Theft detection has already run (a replayed rotated-out token revoked its device and emitted the event).
      if (!this.answersSignedOut(context)) throw error;
      request[REQUEST_REFRESH_PROPERTY] = { token: null };
      return true;
    }
    const answer = request[REQUEST_REFRESH_PROPERTY] as RefreshResponse; // the strategy's, on success
    this.cookies.set(response, answer.permanent_token ?? presented);
    request[REQUEST_REFRESH_PROPERTY] = { token: answer.token };
    return true;
  }

  /** Whether the route answers a signed-out browser `{ token: null }` (the module's refresh route) rather than 400. */
  protected answersSignedOut(context: ExecutionContext): boolean {
    const handler = context.getHandler?.();
    return handler !== undefined && Reflect.getMetadata(SIGNED_OUT_ANSWER_METADATA, handler) === true;
  }

  /** Turns the strategy's outcome into `request.user`: a refused token is a 400, a store failure a 503. */
  override handleRequest<TUser = unknown>(err: unknown, user: unknown, info?: unknown, _context?: ExecutionContext, _status?: unknown): TUser {
    if (err) throw toHttpException(err);
    if (!user) throw new BadRequestException(typeof info === 'string' ? info : 'Invalid permanent token.');
    return user as TUser;
  }
}
