import { createParamDecorator, type ExecutionContext, SetMetadata } from '@nestjs/common';
import { PERMANENT_TOKEN_ALLOWED_METADATA, REQUEST_DEVICE_PROPERTY } from './jwt-devices.constants.js';
import type { AuthenticatedDevice } from './devices.service.js';

/**
 * The device the request authenticated as (`{ id, userId }`), set by `JwtDevicesGuard` or
 * `PermanentTokenGuard`; `id` is `null` for plain JWTs. `undefined` on a route without those guards.
 *
 * @example
 * ```ts
 * @UseGuards(JwtDevicesGuard)
 * @Get('me')
 * me(@CurrentDevice() device: AuthenticatedDevice) { return { device_id: device.id }; }
 * ```
 */
export const CurrentDevice = createParamDecorator(
  (_data: unknown, context: ExecutionContext): AuthenticatedDevice | undefined =>
    context.switchToHttp().getRequest<Record<string, AuthenticatedDevice | undefined>>()[REQUEST_DEVICE_PROPERTY],
);

/**
 * Lets a handler receive the `Permanent-Token` header, which `PermittedHeadersGuard` refuses everywhere
 * else. The module's refresh route has it; use it only on a route of your own that refreshes too.
 */
export const AllowPermanentToken = (): MethodDecorator & ClassDecorator => SetMetadata(PERMANENT_TOKEN_ALLOWED_METADATA, true);
