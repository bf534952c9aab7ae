import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { Strategy } from 'passport-custom';
import { DevicesService, type Refreshed } from '../devices.service.js';
import { PERMANENT_TOKEN_HEADER, PERMANENT_TOKEN_STRATEGY, REQUEST_DEVICE_PROPERTY, REQUEST_REFRESH_PROPERTY } from '../jwt-devices.constants.js';
import { InvalidPermanentTokenError } from '../jwt-devices.errors.js';
import type { StrategyRequest } from './device-jwt.strategy.js';
import { passportOutcome } from './direct-auth.js';
import { singleHeader } from './request-input.js';

/**
 * The passport strategy `'jwt-devices-permanent-token'` (built on `passport-custom`): trades the
 * `Permanent-Token` header for a fresh JWT (see `DevicesService.refresh`), puts the device on
 * `request.jwtDevice` and the refresh answer on `request.jwtDeviceRefresh`, and returns the app's user.
 * The refresh route uses it through `PermanentTokenGuard`; a route of your own also needs `@AllowPermanentToken()`.
 */
@Injectable()
export class PermanentTokenStrategy extends PassportStrategy(Strategy, PERMANENT_TOKEN_STRATEGY) {
  constructor(protected readonly devices: DevicesService) {
    super();
  }

  /**
   * Checks the token (by default the header's), slides (or rotates) it, and signs a fresh JWT.
   * @throws InvalidPermanentTokenError (or `PermanentTokenReusedError`); StoreUnavailableError.
   */
  async authenticateRequest(request: StrategyRequest, permanentToken = singleHeader(request.headers, PERMANENT_TOKEN_HEADER)): Promise<Refreshed> {
    const refreshed = await this.devices.refresh(permanentToken);
    request[REQUEST_DEVICE_PROPERTY] = refreshed.device;
    request[REQUEST_REFRESH_PROPERTY] = refreshed.response;
    return refreshed;
  }

  /** passport's hook: a refused token fails (400 through `PermanentTokenGuard`, 401 through a bare `AuthGuard`). */
  validate(request: StrategyRequest): Promise<object | [false, string]> {
    return passportOutcome(() => this.authenticateRequest(request), InvalidPermanentTokenError);
  }
}
