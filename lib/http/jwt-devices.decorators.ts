import { createParamDecorator, type ExecutionContext, SetMetadata } from '@nestjs/common';
import type { AuthenticatedDevice } from '../devices.service.js';
import { PERMANENT_TOKEN_ALLOWED_METADATA, PUBLIC_ROUTE_METADATA, REQUEST_DEVICE_PROPERTY } from '../jwt-devices.constants.js';
import { transportRequest } from '../transports/transport-request.js';

/**
 * The device the request authenticated as (`{ id, userId }`), set by `JwtDevicesGuard`,
 * `AuthGuard('jwt-devices')` or `PermanentTokenGuard`; `id` is `null` for plain JWTs. `undefined` on a
 * route without those guards. Works alike on GraphQL resolvers and gateway handlers.
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
    transportRequest(context)?.[REQUEST_DEVICE_PROPERTY] as AuthenticatedDevice | undefined,
);

/**
 * The app's user the request authenticated as: what `users.findUser` returned (`request.user`), set by
 * `JwtDevicesGuard`, `AuthGuard('jwt-devices')` or `PermanentTokenGuard`. Whatever `findUser` returns
 * reaches handlers, so return no password hash there.
 *
 * @example
 * ```ts
 * @UseGuards(JwtDevicesGuard)
 * @Get('me')
 * me(@CurrentUser() user: User) { return { username: user.username }; }
 * ```
 */
export const CurrentUser = createParamDecorator((_data: unknown, context: ExecutionContext): unknown => transportRequest(context)?.user);

/**
 * Marks a route or controller as public: `JwtDevicesGuard` lets it through without a JWT, also when the
 * guard is registered app-wide (`APP_GUARD`). The module's login and refresh routes carry it. An app
 * that already has its own `@Public()` metadata can name its key in `publicRouteMetadata` instead.
 */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(PUBLIC_ROUTE_METADATA, true);

/**
 * Lets a handler receive the `Permanent-Token` header, which `PermittedHeadersGuard` refuses everywhere
 * else. The module's refresh route has it; use it only on a route of your own that refreshes too.
 */
export const AllowPermanentToken = (): MethodDecorator & ClassDecorator => SetMetadata(PERMANENT_TOKEN_ALLOWED_METADATA, true);
