import type { ExecutionContext } from '@nestjs/common';
import type { JwtDevicesRequestError } from '../jwt-devices.errors.js';
import { toHttpException } from './jwt-devices.http-errors.js';

/** The hooks of `@nestjs/passport`'s `AuthGuard` that the module's guards keep. */
export interface AuthGuardHooks {
  getRequest(context: ExecutionContext): Record<string, unknown>;
  handleRequest(err: unknown, user: unknown, info: unknown, context: ExecutionContext, status?: unknown): unknown;
}

/**
 * What `AuthGuard.canActivate` does, minus passport's per-request plumbing: runs this module's own
 * strategy instance (never passport's process-wide registry, so two apps in one process never cross),
 * then hands the outcome to the guard's `handleRequest` and sets `request.user` to what it returns.
 */
export async function authenticateDirectly(
  guard: AuthGuardHooks,
  context: ExecutionContext,
  authenticate: (request: never) => Promise<{ user: object }>,
): Promise<true> {
  const request = guard.getRequest(context);
  let user: object | undefined;
  let error: unknown;
  try {
    user = (await authenticate(request as never)).user;
  } catch (caught) {
    error = caught;
  }
  request.user = guard.handleRequest(error, user, undefined, context);
  return true;
}

/**
 * What a module strategy's `validate` hands to passport: the user on success; `[false, message]` when
 * the credential is refused (`refused`), so passport *fails* and tries the next strategy of an
 * `AuthGuard([...])` chain; any other error (a store failure) as its HTTP exception, which stops the chain.
 */
export async function passportOutcome(
  authenticate: () => Promise<{ user: object }>,
  refused: abstract new (...args: never[]) => JwtDevicesRequestError,
): Promise<object | [false, string]> {
  try {
    return (await authenticate()).user;
  } catch (error) {
    if (error instanceof refused) return [false, error.message];
    throw toHttpException(error);
  }
}
