import { type CanActivate, type ExecutionContext, UnauthorizedException } from '@nestjs/common';

/** The part of passport's `Strategy` contract a guard needs (passport-custom strategies have it). */
export interface PassportStrategyLike {
  authenticate(this: StrategyActions, request: unknown, options?: unknown): void;
  /**
   * The module's strategies expose the check itself; the guard then calls it directly instead of
   * going through passport's per-request callback protocol (same result, less work per request).
   */
  validate?(request: never): Promise<unknown>;
}

/** What passport binds onto a strategy for one request. */
interface StrategyActions {
  success(user: unknown, info?: unknown): void;
  fail(challenge?: unknown, status?: number): void;
  error(error: unknown): void;
  pass(): void;
  redirect(url: string, status?: number): void;
}

/**
 * Base of the module's guards: runs one passport strategy for the request, as `@nestjs/passport`'s
 * `AuthGuard` does, but on the strategy instance of *this* module rather than through passport's
 * process-wide registry, so two apps (or two test modules) in one process never use each other's
 * strategies. Subclass it and override the protected hooks to change how a request is read or how a
 * result becomes `request.user`.
 */
export abstract class PassportStrategyGuard implements CanActivate {
  protected constructor(protected readonly strategy: PassportStrategyLike) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = this.getRequest(context);
    let user: unknown;
    let error: unknown;
    try {
      user = this.strategy.validate ? await this.strategy.validate(request as never) : await this.runStrategy(request);
    } catch (caught) {
      error = caught;
    }
    request.user = this.handleRequest(error, user, context);
    return true;
  }

  /** The request the strategy reads. Override for GraphQL or other transports. */
  protected getRequest(context: ExecutionContext): Record<string, unknown> & { user?: unknown } {
    return context.switchToHttp().getRequest();
  }

  /**
   * Turns the strategy's outcome into `request.user`: throws the strategy's error (an `HttpException`
   * with the reason), or 401 when it found no user. Override to let anonymous requests through, etc.
   */
  protected handleRequest(error: unknown, user: unknown, _context: ExecutionContext): unknown {
    if (error) throw error;
    if (!user) throw new UnauthorizedException();
    return user;
  }

  private runStrategy(request: unknown): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const actions: StrategyActions = Object.create(this.strategy);
      actions.success = resolve;
      actions.fail = () => resolve(undefined);
      actions.pass = () => resolve(undefined);
      actions.error = reject;
      actions.redirect = () => reject(new Error('A JWT devices strategy asked for a redirect, which an API guard cannot follow.'));
      this.strategy.authenticate.call(actions, request);
    });
  }
}
