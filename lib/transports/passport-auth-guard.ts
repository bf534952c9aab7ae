import type { ExecutionContext } from '@nestjs/common';
import { AuthGuard } from '@nestjs/passport';
import { JWT_DEVICES_STRATEGY } from '../jwt-devices.constants.js';
import { refusalFor } from './transport-errors.js';
import { guardedRequest } from './transport-request.js';

interface AuthGuardPrototype {
  canActivate(context: ExecutionContext): Promise<boolean>;
  getRequest(context: ExecutionContext): unknown;
  getResponse(context: ExecutionContext): unknown;
}

const TAUGHT = Symbol.for('nestjs-jwt-devices:every-transport');

/**
 * Makes `AuthGuard('jwt-devices')` itself work on GraphQL resolvers and gateways, with no subclass.
 *
 * `@nestjs/passport` builds one guard class per strategy name and hands the same class to every
 * `AuthGuard('jwt-devices')` call; as built, it reads `switchToHttp().getRequest()`, which on a resolver
 * is the GraphQL root value. Since the name is this module's, the module gives that one class the
 * transport-aware request (see `transportRequest`) and each transport's refusals (see `refusalFor`).
 * Other strategies' guards, and `AuthGuard([...])` chains, are untouched: those keep the usual
 * `getRequest` override that Nest's GraphQL docs describe.
 */
export function teachAuthGuardEveryTransport(): void {
  const prototype = AuthGuard(JWT_DEVICES_STRATEGY).prototype as AuthGuardPrototype & { [TAUGHT]?: true };
  if (prototype[TAUGHT]) return;
  const { canActivate } = prototype;
  Object.defineProperties(prototype, {
    [TAUGHT]: { value: true },
    getRequest: {
      configurable: true,
      writable: true,
      value: guardedRequest,
    },
    getResponse: {
      configurable: true,
      writable: true,
      // passport is called with a callback, so it never writes to the response; only HTTP has one.
      value: (context: ExecutionContext): unknown => (context.getType() === 'http' ? context.switchToHttp().getResponse() : {}),
    },
    canActivate: {
      configurable: true,
      writable: true,
      async value(this: AuthGuardPrototype, context: ExecutionContext): Promise<boolean> {
        try {
          return await canActivate.call(this, context);
        } catch (error) {
          throw await refusalFor(context, error);
        }
      },
    },
  });
}
