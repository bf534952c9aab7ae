/**
 * The README's snippets, as an app would write them, compiled by `npm test` (`tsc`, strict) and never
 * run: a snippet that stops compiling against the package's types fails the build. (They run for real
 * in test/nest-native.e2e-spec.ts and test/app-policies.e2e-spec.ts.)
 */
import { Controller, Get, type INestApplication, Injectable, Module, Req, UseGuards } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';
import { Throttle, ThrottlerGuard } from '@nestjs/throttler';
import { TypeOrmModule } from '@nestjs/typeorm';
import {
  type AuthenticatedDevice,
  CurrentDevice,
  CurrentUser,
  DevicesService,
  JWT_DEVICES_MIGRATIONS,
  JwtDevicesGuard,
  JwtDevicesModule,
  type JwtDevicesUsers,
  Public,
} from '../../lib/index.js';

interface User {
  id: number;
  username: string;
}

// Quick start: users.
@Injectable()
export class UsersService implements JwtDevicesUsers<User> {
  async validateUser(username: string, _password: string): Promise<User | null> {
    return username ? { id: 1, username } : null;
  }
  async findUser(userId: string): Promise<User | null> {
    return { id: Number(userId), username: 'alice' };
  }
}

@Module({ providers: [UsersService], exports: [UsersService] })
export class UsersModule {}

// Quick start: the root module.
@Module({
  imports: [
    TypeOrmModule.forRoot({
      type: 'postgres',
      url: process.env.DATABASE_URL,
      autoLoadEntities: true,
      migrations: [...JWT_DEVICES_MIGRATIONS],
    }),
    JwtDevicesModule.forRootAsync({
      database: 'postgres',
      imports: [UsersModule],
      inject: [UsersService],
      useFactory: (users: UsersService) => ({ jwtSecret: process.env.JWT_SECRET!, users }),
      routes: { login: [UseGuards(ThrottlerGuard), Throttle({ default: { limit: 10, ttl: 60_000 } })] },
    }),
  ],
  providers: [{ provide: APP_GUARD, useClass: JwtDevicesGuard }],
})
export class AppModule {}

// Guarding your routes.
@Controller('profile')
export class ProfileController {
  constructor(private readonly devices: DevicesService) {}

  @Get()
  @UseGuards(JwtDevicesGuard)
  me(@Req() request: { user: User }, @CurrentDevice() device: AuthenticatedDevice) {
    return { username: request.user.username, device_id: device.id };
  }

  @Get('user')
  mine(@CurrentUser() user: User) {
    return user.username;
  }

  @Get('health')
  @Public()
  health() {
    return { status: 'ok' };
  }

  @Get('reports')
  @Public()
  @UseGuards(AuthGuard(['api-key', 'jwt-devices']))
  reports() {
    return [];
  }

  // Your own login flow.
  async ownLogin(user: User, request: { headers: Record<string, string> }) {
    const attempt = this.devices.loginAttempt();
    const body = await this.devices.issue(user, request, { attempt });
    await this.devices.revokeAllForUser(user.id);
    return body;
  }
}

// Browsers: the cookie transport, and a single-page app on another origin of the same site.
export const browserOptions = JwtDevicesModule.forRoot({
  jwtSecret: process.env.JWT_SECRET!,
  users: new UsersService(),
  cookieTransport: { trustedOrigins: ['https://app.example.com'] },
});
export function openCorsToTheApp(app: INestApplication): void {
  app.enableCors({
    origin: 'https://app.example.com',
    credentials: true,
    allowedHeaders: ['Content-Type', 'Authorization', 'Permanent-Token-Transport', 'Device-Id'],
  });
}
