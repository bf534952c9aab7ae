import { Controller, ForbiddenException, Get, type INestApplication, type LoggerService, UseGuards } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { Throttle, ThrottlerGuard, ThrottlerModule } from '@nestjs/throttler';
import { TypeOrmModule, type TypeOrmModuleOptions } from '@nestjs/typeorm';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CurrentUser,
  JWT_DEVICES_MIGRATIONS,
  JwtDevicesClock,
  JwtDevicesGuard,
  type JwtDevicesModuleExtras,
  JwtDevicesModule,
  type JwtDevicesModuleOptions,
} from '../lib/index.js';
import { createTestDatabase, type TestDatabase } from './support/databases.js';
import { FakeClock } from './support/fake-clock.js';
import { ALICE, createTestApp, currentHttpAdapter, fastifyAdapter, login, TEST_JWT_SECRET, type TestApp } from './support/test-app.js';
import { type TestUser, TestUsers } from './support/users.js';

/**
 * The built-in routes take the app's policies (route groups, decorators such as throttling, login
 * field names), the app's user store failing is a 503, and answers name routes as clients call them.
 */

let t: TestApp | undefined;
let custom: { app: INestApplication; database: TestDatabase } | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
  await custom?.app.close();
  await custom?.database.drop();
  custom = undefined;
});

@Controller()
class ProfileController {
  @Get('profile')
  @UseGuards(JwtDevicesGuard)
  profile(@CurrentUser() user: TestUser): object {
    return { username: user.username };
  }
}

/** An app of its own: a global prefix, the given users, module options and extras, and logs captured. */
async function startApp(
  setup: { users?: TestUsers; options?: Partial<JwtDevicesModuleOptions>; extras?: JwtDevicesModuleExtras; prefix?: string } = {},
): Promise<{ http: ReturnType<typeof request>; logs: string[]; clock: FakeClock }> {
  const database = await createTestDatabase();
  try {
    return await startOn(database, setup);
  } catch (error) {
    await database.drop();
    throw error;
  }
}

async function startOn(database: TestDatabase, setup: Parameters<typeof startApp>[0] = {}) {
  const logs: string[] = [];
  const clock = new FakeClock();
  const logger: LoggerService = { log: () => undefined, warn: (m) => void logs.push(String(m)), error: (m) => void logs.push(String(m)) };
  const moduleRef = await Test.createTestingModule({
    imports: [
      TypeOrmModule.forRoot({ ...database.options, autoLoadEntities: true, migrations: [...JWT_DEVICES_MIGRATIONS], migrationsRun: true } as TypeOrmModuleOptions),
      ThrottlerModule.forRoot([{ ttl: 60_000, limit: 1_000 }]),
      JwtDevicesModule.forRoot({
        jwtSecret: TEST_JWT_SECRET,
        users: setup.users ?? new TestUsers(),
        ...setup.options,
        database: database.options.type,
        ...setup.extras,
      }),
    ],
    controllers: [ProfileController],
  })
    .overrideProvider(JwtDevicesClock)
    .useValue(clock)
    .compile();
  const app =
    currentHttpAdapter() === 'fastify'
      ? moduleRef.createNestApplication<NestFastifyApplication>(fastifyAdapter(), { logger })
      : moduleRef.createNestApplication({ logger });
  if (setup.prefix) app.setGlobalPrefix(setup.prefix);
  await app.init();
  if (currentHttpAdapter() === 'fastify') await (app as NestFastifyApplication).getHttpAdapter().getInstance().ready();
  custom = { app, database };
  return { http: request(app.getHttpServer()), logs, clock };
}

/** A driver error whose message holds what must never reach a log. */
function driverError(): Error {
  return Object.assign(new Error('connect ECONNREFUSED 10.1.2.3:5432 password=hunter2 alice-password'), { code: 'ECONNREFUSED' });
}

/** The app's user store, which can go down (a driver error) or lock accounts (the app's own 403). */
class FlakyUsers extends TestUsers {
  down = false;
  locked = false;

  override validateUser(username: string, password: string): TestUser | undefined {
    if (this.locked) throw new ForbiddenException('This account is locked.');
    if (this.down) throw driverError();
    return super.validateUser(username, password);
  }

  override findUser(userId: string): TestUser | undefined {
    if (this.down) throw driverError();
    return super.findUser(userId);
  }
}

describe('the app’s user store failing', () => {
  it('answers 503 with the module’s body on login, guarded routes and refresh, and logs class and code only', async () => {
    const users = new FlakyUsers();
    const { http, logs } = await startApp({ users });
    const alice = (await http.post('/auth-token/').send(ALICE).expect(200)).body;
    users.down = true;
    for (const response of [
      await http.post('/auth-token/').send(ALICE),
      await http.get('/profile').set('Authorization', `Bearer ${alice.token}`),
      await http.post('/device-refresh-token/').set('Permanent-Token', alice.permanent_token),
    ]) {
      expect(response.status, JSON.stringify(response.body)).toBe(503);
      expect(response.body).toEqual({ statusCode: 503, message: expect.stringMatching(/user store is unavailable/), error: 'Service Unavailable' });
    }
    expect(logs).toContain('users.validateUser failed: Error (ECONNREFUSED)');
    expect(logs).toContain('users.findUser failed: Error (ECONNREFUSED)');
    expect(logs.join('\n')).not.toMatch(/hunter2|alice-password|10\.1\.2\.3/);
  });

  it('passes the app’s own HTTP answers through (a locked account’s 403)', async () => {
    const users = new FlakyUsers();
    users.locked = true;
    const { http } = await startApp({ users });
    const response = await http.post('/auth-token/').send(ALICE);
    expect(response.status).toBe(403);
    expect(response.body.message).toBe('This account is locked.');
  });
});

describe('answers as RFC 6750 and the global prefix say', () => {
  it('sends WWW-Authenticate: Bearer on 401s, with error="invalid_token" when a token was sent', async () => {
    t = await createTestApp();
    const none = await t.http.get('/me');
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toBe('Bearer');
    const bad = await t.http.get('/me').set('Authorization', 'Bearer not-a-jwt');
    expect(bad.status).toBe(401);
    expect(bad.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
    const { token } = await login(t);
    expect((await t.http.get('/me').set('Authorization', `Bearer ${token}`)).headers['www-authenticate']).toBeUndefined();
  });

  it('names the refresh route with the global prefix and the module path in its messages', async () => {
    const { http, clock } = await startApp({ prefix: 'api', extras: { path: 'auth' } });
    const stray = await http.get('/api/profile').set('Permanent-Token', 'x');
    expect(stray.status).toBe(400);
    expect(stray.body.message).toContain('POST /api/auth/device-refresh-token/');
    const body = (await http.post('/api/auth/auth-token/').send(ALICE).expect(200)).body;
    clock.advance(6 * 60_000); // past the 5-minute JWT
    const expired = await http.get('/api/profile').set('Authorization', `Bearer ${body.token}`);
    expect(expired.status).toBe(401);
    expect(expired.body.message).toBe('Token has expired; get a new one from POST /api/auth/device-refresh-token/.');
  });

  it('@CurrentUser() gives what users.findUser returned', async () => {
    const { http } = await startApp();
    const { token } = (await http.post('/auth-token/').send(ALICE).expect(200)).body;
    expect((await http.get('/profile').set('Authorization', `JWT ${token}`)).body).toEqual({ username: 'alice' });
  });
});

describe('route groups, decorators and login fields', () => {
  it('drops a group with false: no devices routes, while login and refresh stay', async () => {
    const { http } = await startApp({ extras: { routes: { devices: false } } });
    const body = (await http.post('/auth-token/').send(ALICE).expect(200)).body;
    await http.post('/device-refresh-token/').set('Permanent-Token', body.permanent_token).expect(200);
    expect((await http.get('/devices/').set('Authorization', `JWT ${body.token}`)).status).toBe(404);
    expect((await http.delete(`/devices/${body.device_id}/`).set('Authorization', `JWT ${body.token}`)).status).toBe(404);
  });

  it('throttles login with @nestjs/throttler through route decorators: 429 with Retry-After, before any credential check', async () => {
    let checks = 0;
    const users = new (class extends TestUsers {
      override validateUser(username: string, password: string): TestUser | undefined {
        checks++;
        return super.validateUser(username, password);
      }
    })();
    const { http } = await startApp({
      users,
      extras: { routes: { login: [UseGuards(ThrottlerGuard), Throttle({ default: { limit: 2, ttl: 60_000 } })] } },
    });
    await http.post('/auth-token/').send(ALICE).expect(200);
    await http.post('/auth-token/').send({ username: 'alice', password: 'wrong' }).expect(400);
    const limited = await http.post('/auth-token/').send(ALICE);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(checks).toBe(2);
    // Other routes of the module are not throttled by it.
    const fresh = await http.get('/devices/');
    expect(fresh.status).toBe(401);
  });

  it('reads the login under the app’s field names, with the same rules and messages', async () => {
    const users = new TestUsers();
    users.all.push({ id: 3, username: 'carol@example.com', password: 'carol-password' });
    const { http } = await startApp({ users, extras: { loginFields: { username: 'email', password: 'secret' } } });
    const body = (await http.post('/auth-token/').send({ email: 'carol@example.com', secret: 'carol-password' }).expect(200)).body;
    expect(body).toMatchObject({ token: expect.any(String), device_id: expect.any(Number) });
    const missing = await http.post('/auth-token/').send({ username: 'alice', password: 'alice-password' });
    expect(missing.status).toBe(400);
    expect(missing.body.message).toBe('Must include "email" and "secret".');
  });

  it('refuses bad login field names at start-up, naming the extra', async () => {
    await expect(startApp({ extras: { loginFields: { username: 'pass', password: 'pass' } } })).rejects.toThrow(/must differ/);
    await expect(startApp({ extras: { loginFields: { username: '__proto__' } } })).rejects.toThrow(/loginFields\.username/);
  });
});
