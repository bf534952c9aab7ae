import { Injectable } from '@nestjs/common';
import { Strategy } from 'passport-custom';
import type { StrategyRequest } from './device-jwt.strategy.js';
import { DevicesService } from './devices.service.js';
import { PERMANENT_TOKEN_HEADER, PERMANENT_TOKEN_STRATEGY, REQUEST_DEVICE_PROPERTY } from './jwt-devices.constants.js';
import { singleHeader } from './request-input.js';

/**
 * passport-custom strategy named `'jwt-devices-permanent-token'`: reads the `Permanent-Token` header,
 * checks it (unknown or expired → 400; an expired device is deleted), puts the device on
 * `request.jwtDevice` and returns the app's user. The refresh route uses it through `PermanentTokenGuard`.
 */
@Injectable()
export class PermanentTokenStrategy extends Strategy {
  constructor(protected readonly devices: DevicesService) {
    super(function verify(this: PermanentTokenStrategy, request, done) {
      this.validate(request as unknown as StrategyRequest).then((user) => done(null, user), done);
    });
    (this as { name: string }).name = PERMANENT_TOKEN_STRATEGY;
  }

  /** Checks the header's token; override to add checks of your own (call `super.validate` first). */
  async validate(request: StrategyRequest): Promise<object> {
    const { user, device } = await this.devices.validatePermanentToken(singleHeader(request.headers, PERMANENT_TOKEN_HEADER));
    request[REQUEST_DEVICE_PROPERTY] = device;
    return user;
  }
}
