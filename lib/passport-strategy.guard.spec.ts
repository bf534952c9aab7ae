import { UnauthorizedException, type ExecutionContext } from '@nestjs/common';
import { Strategy } from 'passport-custom';
import { describe, expect, it } from 'vitest';
import { PassportStrategyGuard } from './passport-strategy.guard.js';

/** A guard over a plain passport-custom strategy (no `validate`): runs passport's callback protocol. */
class ApiKeyGuard extends PassportStrategyGuard {
  constructor() {
    super(
      new Strategy((request, done) => {
        const key = (request as unknown as { headers: Record<string, string> }).headers['x-api-key'];
        if (key === 'boom') return done(new Error('strategy failed'));
        done(null, key === 'right' ? { id: 'service' } : false);
      }),
    );
  }
}

const context = (headers: Record<string, string>) => {
  const request: { headers: Record<string, string>; user?: unknown } = { headers };
  const ctx = { switchToHttp: () => ({ getRequest: () => request, getResponse: () => ({}) }) } as unknown as ExecutionContext;
  return { request, ctx };
};

describe('PassportStrategyGuard over a foreign passport strategy', () => {
  it('puts the strategy’s user on request.user', async () => {
    const { request, ctx } = context({ 'x-api-key': 'right' });
    expect(await new ApiKeyGuard().canActivate(ctx)).toBe(true);
    expect(request.user).toEqual({ id: 'service' });
  });

  it('answers 401 when the strategy fails, and passes its errors on', async () => {
    await expect(new ApiKeyGuard().canActivate(context({ 'x-api-key': 'wrong' }).ctx)).rejects.toBeInstanceOf(UnauthorizedException);
    await expect(new ApiKeyGuard().canActivate(context({ 'x-api-key': 'boom' }).ctx)).rejects.toThrow('strategy failed');
  });
});
