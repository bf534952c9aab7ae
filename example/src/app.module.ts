import { type DynamicModule, Module, UseGuards } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { Throttle, ThrottlerGuard, ThrottlerModule } from '@nestjs/throttler';
import { TypeOrmModule, type TypeOrmModuleOptions } from '@nestjs/typeorm';
import { deviceEntityFor, JWT_DEVICES_MIGRATIONS, type JwtDevicesRouteSetting, JwtDevicesModule, userRevocationEntityFor } from 'nestjs-jwt-devices';
import { AppController } from './app.controller.js';
import type { ExampleConfig } from './config.js';
import { CreateExampleUsers1764400000001 } from './migrations/1764400000001-create-example-users.js';
import { PageController } from './page.controller.js';
import { User } from './users/user.entity.js';
import { UsersModule } from './users/users.module.js';
import { UsersService } from './users/users.service.js';

/** How the device entity reaches TypeORM; see README, "Quick start". */
export type EntityRegistration = 'autoLoadEntities' | 'listed';

/** Per-client throttling of one of the module's routes (`@nestjs/throttler`: 429 with Retry-After); 0 turns it off. */
function throttled(perMinute: number): JwtDevicesRouteSetting {
  return perMinute === 0 ? true : [UseGuards(ThrottlerGuard), Throttle({ default: { limit: perMinute, ttl: 60_000 } })];
}

/** The example app, configured from the environment (see config.ts) through `ConfigService`. */
@Module({})
export class AppModule {
  /**
   * @param entities `'autoLoadEntities'` (the default, and what apps should do): the module registers the
   * device entity for `database`. `'listed'`: the DataSource lists its entities itself, as a DataSource
   * built outside Nest does; tests use it to run apps on several databases in one process, since
   * `@nestjs/typeorm` keeps `autoLoadEntities` registrations in one process-wide list.
   */
  static register(config: ExampleConfig, entities: EntityRegistration = 'autoLoadEntities'): DynamicModule {
    const autoLoad = entities === 'autoLoadEntities';
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot({ isGlobal: true, ignoreEnvFile: true, load: [() => config] }),
        TypeOrmModule.forRootAsync({
          inject: [ConfigService],
          useFactory: (env: ConfigService<ExampleConfig, true>): TypeOrmModuleOptions => ({
            ...env.get('database', { infer: true }),
            // The module registers its device entity (for this database) and UsersModule its User.
            ...(autoLoad ? { autoLoadEntities: true } : { entities: [deviceEntityFor(config.database.type), userRevocationEntityFor(config.database.type), User] }),
            // The shipped migrations create the device table, as `typeorm migration:run` would.
            migrations: [...JWT_DEVICES_MIGRATIONS, CreateExampleUsers1764400000001],
            migrationsRun: true,
          }),
        }),
        // Limits come from the routes' own @Throttle(); this default applies to nothing else.
        ThrottlerModule.forRoot([{ ttl: 60_000, limit: 1_000_000 }]),
        UsersModule,
        JwtDevicesModule.forRootAsync({
          // The device entity's column types depend on the database (timestamptz on PostgreSQL).
          database: autoLoad ? config.database.type : undefined,
          routes: { login: throttled(config.throttle.loginPerMinute), refresh: throttled(config.throttle.refreshPerMinute) },
          imports: [UsersModule],
          inject: [UsersService, ConfigService],
          useFactory: (users: UsersService, env: ConfigService<ExampleConfig, true>) => ({
            ...env.get('settings', { infer: true }),
            jwtSecret: env.get('jwtSecret', { infer: true }),
            users,
          }),
        }),
      ],
      controllers: [AppController, PageController],
    };
  }
}
