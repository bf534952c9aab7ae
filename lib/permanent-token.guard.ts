import { Injectable } from '@nestjs/common';
import { PassportStrategyGuard } from './passport-strategy.guard.js';
import { PermanentTokenStrategy } from './permanent-token.strategy.js';

/**
 * Guards the refresh route with the `Permanent-Token` header (400 when missing, unknown or expired).
 * A route of your own that uses it also needs `@AllowPermanentToken()`, or `PermittedHeadersGuard` refuses it.
 */
@Injectable()
export class PermanentTokenGuard extends PassportStrategyGuard {
  constructor(strategy: PermanentTokenStrategy) {
    super(strategy);
  }
}
