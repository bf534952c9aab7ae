import { BadRequestException, type ExecutionContext, Injectable } from '@nestjs/common';
import { AuthGuard } from '@nestjs/passport';
import { PERMANENT_TOKEN_STRATEGY } from '../jwt-devices.constants.js';
import { authenticateDirectly } from './direct-auth.js';
import { toHttpException } from './jwt-devices.http-errors.js';
import type { StrategyRequest } from './device-jwt.strategy.js';
import { PermanentTokenStrategy } from './permanent-token.strategy.js';

/**
 * Guards a refresh route with the `Permanent-Token` header (400 when missing, unknown or expired; the
 * answer is then on `request.jwtDeviceRefresh`). It is `AuthGuard('jwt-devices-permanent-token')` with
 * the same hooks, running this module's strategy directly. A route of your own that uses it also needs
 * `@AllowPermanentToken()`, or `PermittedHeadersGuard` refuses it.
 */
@Injectable()
export class PermanentTokenGuard extends AuthGuard(PERMANENT_TOKEN_STRATEGY) {
  constructor(protected readonly strategy: PermanentTokenStrategy) {
    super();
  }

  override canActivate(context: ExecutionContext): Promise<boolean> {
    return authenticateDirectly(this, context, (request: StrategyRequest) => this.strategy.authenticateRequest(request));
  }

  /** Turns the strategy's outcome into `request.user`: a refused token is a 400, a store failure a 503. */
  override handleRequest<TUser = unknown>(err: unknown, user: unknown, info?: unknown, _context?: ExecutionContext, _status?: unknown): TUser {
    if (err) throw toHttpException(err);
    if (!user) throw new BadRequestException(typeof info === 'string' ? info : 'Invalid permanent token.');
    return user as TUser;
  }
}
