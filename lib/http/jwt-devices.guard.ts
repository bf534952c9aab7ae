import { type ExecutionContext, Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';
import { JWT_DEVICES_OPTIONS, JWT_DEVICES_STRATEGY, PUBLIC_ROUTE_METADATA } from '../jwt-devices.constants.js';
import type { ResolvedJwtDevicesOptions } from '../jwt-devices.options.js';
import { DeviceJwtStrategy, type StrategyRequest } from './device-jwt.strategy.js';
import { authenticateDirectly } from './direct-auth.js';
import { toHttpException } from './jwt-devices.http-errors.js';
import { PermittedHeadersGuard } from './permitted-headers.guard.js';

/**
 * Protects routes with the module's JWTs: `@UseGuards(JwtDevicesGuard)` on a route or controller, or
 * app-wide as an `APP_GUARD`. A missing, malformed, forged, expired or revoked token gets 401 with a
 * message that says which; otherwise `request.user` is the app's user (from `users.findUser`) and
 * `@CurrentDevice()` the device. Routes marked `@Public()` (the module's login and refresh routes are)
 * or with the app's own `publicRouteMetadata` key pass without a token.
 *
 * It is `@nestjs/passport`'s `AuthGuard('jwt-devices')`, and keeps its hooks (`getRequest`,
 * `handleRequest(err, user, info, context, status)`) for subclasses; it runs this module's strategy
 * instance directly rather than through passport's process-wide registry.
 */
@Injectable()
export class JwtDevicesGuard extends AuthGuard(JWT_DEVICES_STRATEGY) {
  constructor(
    protected readonly strategy: DeviceJwtStrategy,
    protected readonly reflector: Reflector,
    @Inject(JWT_DEVICES_OPTIONS) protected readonly jwtDevicesOptions: ResolvedJwtDevicesOptions,
  ) {
    super();
  }

  override async canActivate(context: ExecutionContext): Promise<boolean> {
    // Global guards run in module order, so an app-wide JwtDevicesGuard may run before the module's
    // PermittedHeadersGuard: refuse a stray Permanent-Token here too, before authenticating.
    if (this.jwtDevicesOptions.permittedHeadersGuard) PermittedHeadersGuard.check(context, this.reflector);
    if (this.isPublic(context)) return true;
    return authenticateDirectly(this, context, (request: StrategyRequest) => this.strategy.authenticateRequest(request));
  }

  /** Whether the route is public: `@Public()`, or the app's own metadata key (`publicRouteMetadata`). */
  protected isPublic(context: ExecutionContext): boolean {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE_METADATA, targets)) return true;
    const appKey = this.jwtDevicesOptions.publicRouteMetadata;
    return appKey !== null && Boolean(this.reflector.getAllAndOverride(appKey, targets));
  }

  /**
   * Turns the strategy's outcome into `request.user`: the module's errors become their HTTP answer
   * (401 for a refused token, 503 for a store failure). Override to let anonymous requests through, etc.
   */
  override handleRequest<TUser = unknown>(err: unknown, user: unknown, info?: unknown, _context?: ExecutionContext, _status?: unknown): TUser {
    if (err) throw toHttpException(err);
    if (!user) throw new UnauthorizedException(typeof info === 'string' ? info : undefined);
    return user as TUser;
  }
}
