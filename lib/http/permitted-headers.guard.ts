import { BadRequestException, type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { PERMANENT_TOKEN_ALLOWED_METADATA, PERMANENT_TOKEN_HEADER } from '../jwt-devices.constants.js';
import { refusalFor } from '../transports/transport-errors.js';
import { transportRequest } from '../transports/transport-request.js';
import { JwtDevicesRoutes } from './jwt-devices.routes.js';

/**
 * Refuses (400; `BAD_REQUEST` on GraphQL, an `exception` event on a gateway) any request that carries a
 * `Permanent-Token` header to a route without `@AllowPermanentToken()`, so a client that sends its
 * long-lived secret with every request is told at once, before it leaks into logs and caches.
 * Registered as a global guard, so it runs before authentication and covers the app's own routes too;
 * turn it off with `permittedHeadersGuard: false`.
 */
@Injectable()
export class PermittedHeadersGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly routes: JwtDevicesRoutes,
  ) {}

  /** Synchronous on the pass path (every request of the app comes here); only a refusal awaits its transport's form. */
  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    try {
      return PermittedHeadersGuard.check(context, this.reflector, this.routes);
    } catch (error) {
      return refusalFor(context, error).then((refusal) => Promise.reject(refusal));
    }
  }

  /**
   * The check itself, for guards that must run it before their own work (an app-wide `JwtDevicesGuard`).
   * It reads the request of every transport: an HTTP request, a GraphQL request, a socket's handshake.
   */
  static check(context: ExecutionContext, reflector: Reflector, routes: JwtDevicesRoutes): true {
    if (transportRequest(context)?.headers[PERMANENT_TOKEN_HEADER] === undefined) return true;
    if (reflector.getAllAndOverride<boolean>(PERMANENT_TOKEN_ALLOWED_METADATA, [context.getHandler(), context.getClass()])) {
      return true;
    }
    throw new BadRequestException(
      `The Permanent-Token header is accepted only by ${routes.refresh}; do not send it with any other request.`,
    );
  }
}
