import { BadRequestException, type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { PERMANENT_TOKEN_ALLOWED_METADATA, PERMANENT_TOKEN_HEADER } from '../jwt-devices.constants.js';
import { JwtDevicesRoutes } from './jwt-devices.routes.js';

/**
 * Refuses (400) any request that carries a `Permanent-Token` header to a route without
 * `@AllowPermanentToken()`, so a client that sends its long-lived secret with every request is told at
 * once, before it leaks into logs and caches. Registered as a global guard, so it runs before
 * authentication and covers the app's own routes too; turn it off with `permittedHeadersGuard: false`.
 */
@Injectable()
export class PermittedHeadersGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly routes: JwtDevicesRoutes,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    return PermittedHeadersGuard.check(context, this.reflector, this.routes);
  }

  /** The check itself, for guards that must run it before their own work (an app-wide `JwtDevicesGuard`). */
  static check(context: ExecutionContext, reflector: Reflector, routes: JwtDevicesRoutes): true {
    if (context.getType() !== 'http') return true;
    const { headers } = context.switchToHttp().getRequest<{ headers?: Record<string, unknown> }>();
    if (headers?.[PERMANENT_TOKEN_HEADER] === undefined) return true;
    if (reflector.getAllAndOverride<boolean>(PERMANENT_TOKEN_ALLOWED_METADATA, [context.getHandler(), context.getClass()])) {
      return true;
    }
    throw new BadRequestException(
      `The Permanent-Token header is accepted only by ${routes.refresh}; do not send it with any other request.`,
    );
  }
}
