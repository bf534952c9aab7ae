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

/** The example app, configured from the environment (see config.ts). */
@Module({})
export class AppModule {
  static register(config: ExampleConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        TypeOrmModule.forRoot({
          ...config.database,
          // The device entity depends on the database (timestamptz on PostgreSQL).
          entities: [deviceEntityFor(config.database.type), User],
          // The shipped migrations create the device table, as `typeorm migration:run` would.
          migrations: [...JWT_DEVICES_MIGRATIONS, CreateExampleUsers1764400000001],
          migrationsRun: true,
        } as Parameters<typeof TypeOrmModule.forRoot>[0]),
        UsersModule,
        JwtDevicesModule.forRootAsync({
          imports: [UsersModule],
          inject: [UsersService],
          useFactory: (users: UsersService) => ({ jwtSecret: config.jwtSecret, users, ...config.settings }),
        }),
      ],
      controllers: [AppController],
    };
  }
}
