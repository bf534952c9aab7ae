import { Injectable, UnauthorizedException } from '@nestjs/common';
import { Strategy } from 'passport-custom';
import { DevicesService } from './devices.service.js';
import { JWT_DEVICES_STRATEGY, REQUEST_DEVICE_PROPERTY } from './jwt-devices.constants.js';
import { readAuthorizationToken, type RequestHeaders } from './request-input.js';

/** A request as the strategies read it: Express's and Fastify's both fit. */
export interface StrategyRequest {
  headers: RequestHeaders;
  [property: string]: unknown;
}

/**
 * passport-custom strategy named `'jwt-devices'`: verifies `Authorization: Bearer <jwt>` (or `JWT <jwt>`)
 * with the device's own key, puts the device on `request.jwtDevice` and returns the app's user.
 * To use it with `@nestjs/passport` or plain passport: `passport.use(JWT_DEVICES_STRATEGY, app.get(DeviceJwtStrategy))`.
 */
@Injectable()
export class DeviceJwtStrategy extends Strategy {
  constructor(protected readonly devices: DevicesService) {
    super(function verify(this: DeviceJwtStrategy, request, done) {
      this.validate(request as unknown as StrategyRequest).then((user) => done(null, user), done);
    });
    (this as { name: string }).name = JWT_DEVICES_STRATEGY;
  }

  /** Reads and verifies the token; override to add checks of your own (call `super.validate` first). */
  async validate(request: StrategyRequest): Promise<object> {
    const token = readAuthorizationToken(request.headers);
    if (!token) {
      throw new UnauthorizedException('Authentication credentials were not provided: send "Authorization: Bearer <token>".');
    }
    const { user, device } = await this.devices.authenticate(token);
    request[REQUEST_DEVICE_PROPERTY] = device;
    return user;
  }
}
