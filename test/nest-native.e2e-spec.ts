import { Controller, Get, Inject, Injectable, type INestApplication, Module, SetMetadata, UseGuards, ValidationPipe } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { JwtService } from '@nestjs/jwt';
import { AuthGuard, PassportStrategy } from '@nestjs/passport';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { TypeOrmModule, type TypeOrmModuleOptions } from '@nestjs/typeorm';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { Strategy } from 'passport-custom';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addJwtDevicesToOpenApi,
  type AuthenticatedDevice,
  CurrentDevice,
  DevicesService,
  JWT_DEVICES_MIGRATIONS,
  JwtDevicesGuard,
  JwtDevicesModule,
  Public,
} from '../lib/index.js';
import { createTestDatabase, type TestDatabase } from './support/databases.js';
import { currentHttpAdapter, fastifyAdapter, TEST_JWT_SECRET } from './support/test-app.js';
import { type TestUser, TestUsers } from './support/users.js';

/**
 * The app of issue "Nest-native", built the way Nest's docs teach and a newcomer would write it:
 * `autoLoadEntities`, a global prefix, an app-wide `ValidationPipe`, a feature module with its own
 * guarded controller, `AuthGuard('jwt-devices')` and a combination with the app's own strategy, and
 * `JwtDevicesGuard` as `APP_GUARD` with public routes. No workaround anywhere.
 */

const API_KEY = 'app-api-key-0123456789';
const IS_PUBLIC = 'isPublic';

/** The app's own strategy, as apps combine them with ours: `X-Api-Key`. */
@Injectable()
class ApiKeyStrategy extends PassportStrategy(Strategy, 'api-key') {
  validate(request: { headers: Record<string, string | undefined> }): object | false {
    return request.headers['x-api-key'] === API_KEY ? { id: 'service', kind: 'api-key' } : false;
  }
}

@Injectable()
class UsersService {
  readonly users = new TestUsers();
}

/** A feature module with its own guarded controller; it imports nothing of the module. */
@Controller('users')
class UsersController {
  @Get('me')
  @UseGuards(JwtDevicesGuard)
  me(@CurrentDevice() device: AuthenticatedDevice): object {
    return { device_id: device.id, user_id: device.userId };
  }

  @Get('passport')
  @UseGuards(AuthGuard('jwt-devices'))
  passport(@CurrentDevice() device: AuthenticatedDevice): object {
    return { device_id: device.id };
  }

  /** Public for the app-wide guard: the route's own guard decides, with either credential. */
  @Get('either')
  @Public()
  @UseGuards(AuthGuard(['api-key', 'jwt-devices']))
  either(): object {
    return { ok: true };
  }
}

@Module({ providers: [UsersService], controllers: [UsersController], exports: [UsersService] })
class UsersModule {}

@Controller()
class AppController {
  constructor(
    private readonly devices: DevicesService,
    @Inject(JwtService) private readonly jwt: JwtService,
  ) {}

  @Get('health')
  @Public()
  health(): object {
    return { status: 'ok' };
  }

  @Get('docs-style')
  @SetMetadata(IS_PUBLIC, true)
  appPublic(): object {
    return { ok: true };
  }

  @Get('private')
  private(): object {
    return { ok: true };
  }

  /** The app verifies a module JWT with its own JwtService and the device key the module exposes. */
  async verifyWithOwnJwtService(token: string, deviceId: number): Promise<Record<string, unknown>> {
    const key = await this.devices.deviceKey(deviceId);
    if (!key) throw new Error('no key');
    return this.jwt.verify(token, { secret: key as never, algorithms: ['HS256'] });
  }
}

let database: TestDatabase;
let app: INestApplication;
let http: ReturnType<typeof request>;

beforeAll(async () => {
  database = await createTestDatabase();
  const moduleRef = await Test.createTestingModule({
    imports: [
      TypeOrmModule.forRoot({
        ...database.options,
        autoLoadEntities: true,
        migrations: [...JWT_DEVICES_MIGRATIONS],
        migrationsRun: true,
        retryAttempts: 0,
      } as TypeOrmModuleOptions),
      UsersModule,
      JwtDevicesModule.forRootAsync({
        database: database.options.type,
        imports: [UsersModule],
        inject: [UsersService],
        useFactory: (users: UsersService) => ({ jwtSecret: TEST_JWT_SECRET, users: users.users, publicRouteMetadata: IS_PUBLIC }),
      }),
    ],
    controllers: [AppController],
    providers: [ApiKeyStrategy, { provide: APP_GUARD, useClass: JwtDevicesGuard }, { provide: JwtService, useValue: new JwtService() }],
  }).compile();
  app =
    currentHttpAdapter() === 'fastify'
      ? moduleRef.createNestApplication<NestFastifyApplication>(fastifyAdapter(), { logger: ['error', 'warn'] })
      : moduleRef.createNestApplication({ logger: ['error', 'warn'] });
  app.setGlobalPrefix('api');
  app.useGlobalPipes(new ValidationPipe());
  await app.init();
  if (currentHttpAdapter() === 'fastify') await (app as NestFastifyApplication).getHttpAdapter().getInstance().ready();
  http = request(app.getHttpServer());
});

afterAll(async () => {
  await app?.close();
  await database?.drop();
});

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

async function login(user: Pick<TestUser, 'username' | 'password'> = { username: 'alice', password: 'alice-password' }) {
  const response = await http.post('/api/auth-token/').set('X-Device-Model', 'Pixel 8').send(user);
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  return response.body as { token: string; permanent_token: string; device_id: number };
}

describe('a Nest app built as the docs teach', () => {
  it('walks the CONTRACT flow under the global prefix, with JwtDevicesGuard app-wide', async () => {
    const alice = await login();
    expect(alice).toMatchObject({ token: expect.any(String), permanent_token: expect.any(String), device_id: expect.any(Number) });

    const refreshed = await http.post('/api/device-refresh-token/').set('Permanent-Token', alice.permanent_token);
    expect(refreshed.status).toBe(200);
    expect(refreshed.body).toEqual({ token: expect.any(String) });

    const devices = await http.get('/api/devices/').set(bearer(refreshed.body.token));
    expect(devices.status).toBe(200);
    expect(devices.body).toEqual([expect.objectContaining({ id: alice.device_id, name: 'Pixel 8', current: true })]);

    const me = await http.get('/api/users/me').set(bearer(alice.token));
    expect(me.status).toBe(200);
    expect(me.body).toEqual({ device_id: alice.device_id, user_id: '1' });

    const other = await login();
    expect((await http.delete('/api/device-logout/').set({ ...bearer(other.token), 'Device-Id': String(alice.device_id) })).status).toBe(204);
    expect((await http.get('/api/users/me').set(bearer(alice.token))).status).toBe(401);
    expect((await http.post('/api/device-refresh-token/').set('Permanent-Token', alice.permanent_token)).status).toBe(400);
    expect((await http.get('/api/users/me').set(bearer(other.token))).status).toBe(200);
  });

  it('keeps login, refresh and the app’s public routes open, and everything else closed, under the app-wide guard', async () => {
    expect((await http.get('/api/health')).status).toBe(200);
    expect((await http.get('/api/docs-style')).status).toBe(200);
    const closed = await http.get('/api/private');
    expect(closed.status).toBe(401);
    expect(closed.body.message).toMatch(/Authorization/);
    const { token } = await login();
    expect((await http.get('/api/private').set(bearer(token))).status).toBe(200);
    // PermittedHeadersGuard still runs before authentication, under the app's own global guard too.
    const stray = await http.get('/api/private').set('Permanent-Token', 'x');
    expect(stray.status).toBe(400);
    expect(stray.body.message).toMatch(/Permanent-Token/);
  });

  it('serves AuthGuard("jwt-devices") with no extra line', async () => {
    const { token, device_id } = await login();
    const ok = await http.get('/api/users/passport').set(bearer(token));
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ device_id });
    expect((await http.get('/api/users/passport').set(bearer(`${token}x`))).status).toBe(401);
  });

  it('combines the app’s own strategy with jwt-devices: AuthGuard(["api-key", "jwt-devices"])', async () => {
    const { token } = await login();
    expect((await http.get('/api/users/either').set('X-Api-Key', API_KEY)).status).toBe(200);
    expect((await http.get('/api/users/either').set(bearer(token))).status).toBe(200);
    expect((await http.get('/api/users/either').set('X-Api-Key', 'wrong')).status).toBe(401);
  });

  it('answers bad login bodies in the app’s ValidationPipe shape (one error shape per app)', async () => {
    const response = await http.post('/api/auth-token/').send({ username: 'alice' });
    expect(response.status).toBe(400);
    expect(Array.isArray(response.body.message)).toBe(true);
    expect(response.body.message.join(' ')).toMatch(/password/);
    const wrong = await http.post('/api/auth-token/').send({ username: 'alice', password: 'nope' });
    expect(wrong.status).toBe(400);
    expect(wrong.body.message).toBe('Unable to log in with provided credentials.');
  });

  it('documents the module’s routes under the global prefix in the Swagger document, with no option', () => {
    const document = addJwtDevicesToOpenApi(SwaggerModule.createDocument(app, new DocumentBuilder().build()));
    const paths = Object.keys(document.paths);
    for (const route of ['/api/auth-token/', '/api/device-refresh-token/', '/api/device-logout/', '/api/devices/', '/api/devices/others/', '/api/devices/{id}/']) {
      expect(paths).toContain(route);
      expect(paths).not.toContain(route.slice(0, -1));
    }
    expect(paths).toContain('/api/users/me');
    expect(document.paths['/api/auth-token/']!.post!.security).toEqual([]);
  });

  it('lets the app verify a module JWT with its own JwtService and the device key the module exposes', async () => {
    const { token, device_id } = await login();
    const claims = await app.get(AppController).verifyWithOwnJwtService(token, device_id);
    expect(claims).toMatchObject({ user_id: 1, username: 'alice', device_id: String(device_id) });
    const other = await login();
    await expect(app.get(AppController).verifyWithOwnJwtService(token, other.device_id)).rejects.toThrow(/signature/);
  });
});
