import { Module } from '@nestjs/common';
import { ConfigurableJwtDevicesModule } from './jwt-devices.module-definition.js';

/**
 * Devices, permanent tokens and per-device JWTs for a Nest app.
 *
 * @example
 * ```ts
 * @Module({
 *   imports: [
 *     TypeOrmModule.forRoot({ type: 'better-sqlite3', database: 'app.sqlite', autoLoadEntities: true }),
 *     JwtDevicesModule.forRootAsync({
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
