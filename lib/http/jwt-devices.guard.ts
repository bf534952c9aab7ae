import { type ExecutionContext, Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';
import { JWT_DEVICES_OPTIONS, JWT_DEVICES_STRATEGY, PUBLIC_ROUTE_METADATA } from '../jwt-devices.constants.js';
import type { ResolvedJwtDevicesOptions } from '../jwt-devices.options.js';
import { DeviceJwtStrategy, type StrategyRequest } from './device-jwt.strategy.js';
import { authenticateDirectly } from './direct-auth.js';
import { MissingTokenError } from '../jwt-devices.errors.js';
import { teachAuthGuardEveryTransport } from '../transports/passport-auth-guard.js';
import { refusalFor } from '../transports/transport-errors.js';
import { guardedRequest, type TransportRequest } from '../transports/transport-request.js';
import { toHttpException } from './jwt-devices.http-errors.js';
import { JwtDevicesRoutes } from './jwt-devices.routes.js';
import { PermittedHeadersGuard } from './permitted-headers.guard.js';

teachAuthGuardEveryTransport();

/**
 * Protects routes with the module's JWTs: `@UseGuards(JwtDevicesGuard)` on a route or controller, or
 * app-wide as an `APP_GUARD`; the same guard, unchanged, protects GraphQL resolvers (Apollo, Mercurius)
 * and WebSocket gateways (`ws`, socket.io), refusing in each transport's own terms (see `refusalFor`).
 * A missing, malformed, forged, expired or revoked token gets 401 with a message that says which;
 * otherwise `request.user` is the app's user (from `users.findUser`) and `@CurrentDevice()` the device.
 * Routes marked `@Public()` (the module's login and refresh routes are) or with the app's own
 * `publicRouteMetadata` key pass without a token.
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
    protected readonly routes: JwtDevicesRoutes,
  ) {
    super();
  }

  override async canActivate(context: ExecutionContext): Promise<boolean> {
    // Global guards run in module order, so an app-wide JwtDevicesGuard may run before the module's
    // PermittedHeadersGuard: refuse a stray Permanent-Token here too, before authenticating.
    try {
      if (this.jwtDevicesOptions.permittedHeadersGuard) PermittedHeadersGuard.check(context, this.reflector, this.routes);
      if (this.isPublic(context)) return true;
      return await authenticateDirectly(this, context, (request: StrategyRequest) => this.strategy.authenticateRequest(request));
    } catch (error) {
      throw await refusalFor(context, error);
    }
  }

  /**
   * The request the JWT is read from and the user and device are put on: the HTTP request, the
   * GraphQL context's request, or a socket's handshake (see `transportRequest`).
   * @throws JwtDevicesError when the transport has none (a `ws` client without `attachUpgradeRequest`), and
   * on a GraphQL subscription (see `guardedRequest`).
   */
  override getRequest(context: ExecutionContext): TransportRequest {
    return guardedRequest(context);
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
   * (401 for a refused token, with `WWW-Authenticate: Bearer` as RFC 6750 asks, and
   * `error="invalid_token"` when a token was sent; 503 for a store failure). Override to let anonymous
   * requests through, etc.
   */
  override handleRequest<TUser = unknown>(err: unknown, user: unknown, info?: unknown, context?: ExecutionContext, _status?: unknown): TUser {
    if (!err && user) return user as TUser;
    const exception = err ? toHttpException(err, this.routes) : new UnauthorizedException(typeof info === 'string' ? info : undefined);
    if (exception instanceof UnauthorizedException && context?.getType() === 'http') {
      const tokenSent = err !== undefined && !(err instanceof MissingTokenError);
      setResponseHeader(context.switchToHttp().getResponse(), 'WWW-Authenticate', tokenSent ? 'Bearer error="invalid_token"' : 'Bearer');
    }
    throw exception;
  }
}

/** Sets a header on an Express response or a Fastify reply. */
function setResponseHeader(response: unknown, name: string, value: string): void {
  const target = response as { setHeader?: (name: string, value: string) => void; header?: (name: string, value: string) => void };
  if (typeof target.setHeader === 'function') target.setHeader(name, value);
  else if (typeof target.header === 'function') target.header(name, value);
}
