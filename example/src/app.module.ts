import { type DynamicModule, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { deviceEntityFor, JWT_DEVICES_MIGRATIONS, JwtDevicesModule } from 'nestjs-jwt-devices';
import { AppController } from './app.controller.js';
import type { ExampleConfig } from './config.js';
import { CreateExampleUsers1764400000001 } from './migrations/1764400000001-create-example-users.js';
import { User } from './users/user.entity.js';
import { UsersService } from './users/users.service.js';

@Module({
  imports: [TypeOrmModule.forFeature([User])],
  providers: [UsersService],
  exports: [UsersService],
})
export class UsersModule {}

/** How the device entity reaches TypeORM; see README, "Quick start". */
export type EntityRegistration = 'autoLoadEntities' | 'listed';

/** The example app, configured from the environment (see config.ts). */
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
        TypeOrmModule.forRoot({
          ...config.database,
          // The module registers its device entity (for this database) and UsersModule its User.
          ...(autoLoad ? { autoLoadEntities: true } : { entities: [deviceEntityFor(config.database.type), User] }),
          // The shipped migrations create the device table, as `typeorm migration:run` would.
          migrations: [...JWT_DEVICES_MIGRATIONS, CreateExampleUsers1764400000001],
          migrationsRun: true,
        } as Parameters<typeof TypeOrmModule.forRoot>[0]),
        UsersModule,
        JwtDevicesModule.forRootAsync({
          // The device entity's column types depend on the database (timestamptz on PostgreSQL).
          database: autoLoad ? config.database.type : undefined,
          imports: [UsersModule],
          inject: [UsersService],
          useFactory: (users: UsersService) => ({ jwtSecret: config.jwtSecret, users, ...config.settings }),
        }),
      ],
      controllers: [AppController],
    };
  }
}
