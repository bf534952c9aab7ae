import type { ExecutionContext } from '@nestjs/common';

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
