import { Injectable } from '@nestjs/common';
import { DeviceJwtStrategy } from './device-jwt.strategy.js';
import { PassportStrategyGuard } from './passport-strategy.guard.js';

/**
 * Protects a route with the module's JWTs: `@UseGuards(JwtDevicesGuard)`. A missing, malformed, forged,
 * expired or revoked token gets 401; otherwise `request.user` is the app's user (from `users.findUser`)
 * and `@CurrentDevice()` the device. Subclass it to customise (see `PassportStrategyGuard`).
 */
@Injectable()
export class JwtDevicesGuard extends PassportStrategyGuard {
  constructor(strategy: DeviceJwtStrategy) {
    super(strategy);
  }
}
