import { Inject, Module } from '@nestjs/common';
import { JWT_DEVICES_OPTIONS } from './jwt-devices.constants.js';
import { ConfigurableJwtDevicesModule } from './jwt-devices.module-definition.js';
import { DeviceStore } from './store/device-store.js';

/**
 * Devices, permanent tokens and per-device JWTs for a Nest app. Import it once, at the root: it is
 * global by default, so `JwtDevicesGuard`, `AuthGuard('jwt-devices')` and `DevicesService` work in
 * every feature module.
 *
 * @example
 * ```ts
 * @Module({
 *   imports: [
 *     TypeOrmModule.forRoot({ type: 'postgres', url: process.env.DATABASE_URL, autoLoadEntities: true }),
 *     JwtDevicesModule.forRootAsync({
 *       database: 'postgres',
 *       imports: [UsersModule],
 *       inject: [UsersService, ConfigService],
 *       useFactory: (users: UsersService, config: ConfigService) => ({ jwtSecret: config.getOrThrow('JWT_SECRET'), users }),
 *     }),
 *   ],
 * })
 * export class AppModule {}
 * ```
 */
@Module({})
export class JwtDevicesModule extends ConfigurableJwtDevicesModule {}

/** Injects the module's resolved options (`ResolvedJwtDevicesOptions`: validated, defaulted, frozen). */
export const InjectJwtDevicesOptions = (): ParameterDecorator & PropertyDecorator => Inject(JWT_DEVICES_OPTIONS);

/** Injects the module's `DeviceStore` (the TypeORM one unless the `store` option gave another). */
export const InjectDeviceStore = (): ParameterDecorator & PropertyDecorator => Inject(DeviceStore);
