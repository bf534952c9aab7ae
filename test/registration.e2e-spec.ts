import { Test } from '@nestjs/testing';
import { getDataSourceToken, TypeOrmModule } from '@nestjs/typeorm';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { Device, DevicesService, InMemoryDeviceStore, JwtDevicesModule, type JwtDevicesModuleOptions, JwtDevicesOptionsError } from '../lib/index.js';
import { ALICE, createTestApp, login, REGISTRATION_FORMS, TEST_JWT_SECRET, type TestApp } from './support/test-app.js';
import { TestUsers } from './support/users.js';

let t: TestApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

/** Login, a guarded app route, refresh and logout: what every registration must support. */
async function walkThrough(app: TestApp, prefix = ''): Promise<void> {
  const body = (await app.http.post(`${prefix}/auth-token/`).send(ALICE).expect(200)).body;
  expect((await app.http.get('/me').set('Authorization', `JWT ${body.token}`)).body).toEqual({
    device: { id: body.device_id, userId: '1' },
  });
  const refreshed = await app.http.post(`${prefix}/device-refresh-token/`).set('Permanent-Token', body.permanent_token).expect(200);
  await app.http.get('/me').set('Authorization', `Bearer ${refreshed.body.token}`).expect(200);
  await app.http
    .delete(`${prefix}/device-logout/`)
    .set({ Authorization: `JWT ${body.token}`, 'Device-Id': String(body.device_id) })
    .expect(204);
  await app.http.get('/me').set('Authorization', `Bearer ${refreshed.body.token}`).expect(401);
}

describe.each(REGISTRATION_FORMS)('registered with %s', (form) => {
  it('boots and serves the whole flow', async () => {
    t = await createTestApp({ form });
    await walkThrough(t);
  });

  it('takes its options from that form (short jwtExpiration is honoured)', async () => {
    t = await createTestApp({ form, options: { jwtExpiration: '10s' } });
    const { token } = await login(t);
    t.clock.advance(11_000);
    expect((await t.http.get('/me').set('Authorization', `JWT ${token}`)).status).toBe(401);
  });

  it('takes static extras beside the async options (route prefix)', async () => {
    t = await createTestApp({ form, extras: { path: 'api' } });
    await walkThrough(t, '/api');
    expect((await t.http.post('/auth-token/').send(ALICE)).status).toBe(404);
  });

  it('fails at start-up, naming the option, when an option is invalid', async () => {
    // The project's own database: @nestjs/typeorm's process-wide autoLoadEntities list must hold one
    // database family per test file (see README, "Testing").
    const invalid = (options: Partial<JwtDevicesModuleOptions>) => createTestApp({ form, options });
    await expect(invalid({ permanentTokenExpiration: 'a week' as never })).rejects.toThrow(/option "permanentTokenExpiration"/);
    await expect(invalid({ jwtSecret: 'short' })).rejects.toBeInstanceOf(JwtDevicesOptionsError);
  });
});

describe('registration extras', () => {
  it('works on a named data source', async () => {
    t = await createTestApp({ extras: { dataSource: 'auth' } });
    await walkThrough(t);
    expect(t.dataSource).toBe(t.app.get(getDataSourceToken('auth')));
    expect(() => t!.app.get(getDataSourceToken())).toThrow();
  });

  it('serves no routes with controller: false, while guards and the service still work (own login flow)', async () => {
    t = await createTestApp({ extras: { controller: false } });
    expect((await t.http.post('/auth-token/').send(ALICE)).status).toBe(404);
    const users = t.app.get(TestUsers);
    const issued = await t.app.get(DevicesService).issue(users.all[0]!, { headers: { 'x-device-model': 'Own flow' } });
    expect(Object.keys(issued).sort()).toEqual(['device_id', 'permanent_token', 'token']);
    expect((await t.devices())[0]).toMatchObject({ name: 'Own flow', userId: '1' });
    await t.http.get('/me').set('Authorization', `JWT ${issued.token}`).expect(200);
  });

  it('answers 404 on the login route when the app gives no validateUser', async () => {
    const users = new TestUsers();
    const moduleRef = await Test.createTestingModule({
      imports: [
        TypeOrmModule.forRoot({ type: 'better-sqlite3', database: ':memory:', entities: [Device], synchronize: true }),
        JwtDevicesModule.forRoot({ jwtSecret: TEST_JWT_SECRET, users: { findUser: (id) => users.findUser(id) } }),
      ],
    }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    try {
      const response = await request(app.getHttpServer()).post('/auth-token/').send(ALICE);
      expect(response.status).toBe(404);
      expect(response.body.message).toMatch(/own login/);
    } finally {
      await app.close();
    }
  });

  it('runs on a DeviceStore of the app’s own (InMemoryDeviceStore), with no TypeORM at all', async () => {
    const store = new InMemoryDeviceStore();
    const moduleRef = await Test.createTestingModule({
      imports: [JwtDevicesModule.forRoot({ jwtSecret: TEST_JWT_SECRET, users: new TestUsers(), store })],
    }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    try {
      const http = request(app.getHttpServer());
      const body = (await http.post('/auth-token/').send(ALICE).expect(200)).body;
      expect(store.all()).toEqual([expect.objectContaining({ id: body.device_id, userId: '1' })]);
      await http.post('/device-refresh-token/').set('Permanent-Token', body.permanent_token).expect(200);
      await http.get('/devices/').set('Authorization', `JWT ${body.token}`).expect(200);
      await http.delete(`/devices/${body.device_id}/`).set('Authorization', `JWT ${body.token}`).expect(204);
      expect(store.all()).toEqual([]);
    } finally {
      await app.close();
    }
  });

  it('stops at start-up, saying what to do, when the DataSource has no device entity and none was registered', async () => {
    const moduleRef = Test.createTestingModule({
      imports: [
        TypeOrmModule.forRoot({ type: 'better-sqlite3', database: ':memory:', name: 'no-device-entity' }),
        JwtDevicesModule.forRoot({ jwtSecret: TEST_JWT_SECRET, users: new TestUsers(), dataSource: 'no-device-entity' }),
      ],
    });
    await expect(moduleRef.compile()).rejects.toThrow(/Pass database: 'better-sqlite3' to JwtDevicesModule\.forRoot\(\).*deviceEntityFor\('better-sqlite3'\)/);
  });

  it('stops at start-up when there is neither a TypeORM DataSource nor a store', async () => {
    const moduleRef = Test.createTestingModule({ imports: [JwtDevicesModule.forRoot({ jwtSecret: TEST_JWT_SECRET, users: new TestUsers() })] });
    await expect(moduleRef.compile()).rejects.toThrow(/found no TypeORM DataSource.*store option/);
  });

  it('keeps two apps in one process apart (no shared passport registry)', async () => {
    const first = await createTestApp();
    const second = await createTestApp();
    try {
      // Both databases get a device 1, with different secrets. A guard that used the other app's
      // strategy (as passport's process-wide registry would do) would refuse its own app's token.
      const fromFirst = await login(first);
      const fromSecond = await login(second);
      expect(fromFirst.device_id).toBe(fromSecond.device_id);
      expect((await first.http.get('/me').set('Authorization', `JWT ${fromFirst.token}`)).status).toBe(200);
      expect((await second.http.get('/me').set('Authorization', `JWT ${fromSecond.token}`)).status).toBe(200);
      expect((await second.http.get('/me').set('Authorization', `JWT ${fromFirst.token}`)).status).toBe(401);
    } finally {
      await first.close();
      await second.close();
    }
  });
});

describe('the strategies with passport itself', () => {
  it('DeviceJwtStrategy works through passport.authenticate, as an app combining strategies would use it', async () => {
    const { default: passport } = await import('passport');
    const { DeviceJwtStrategy, JWT_DEVICES_STRATEGY } = await import('../lib/index.js');
    t = await createTestApp();
    const body = await login(t);
    const instance = new passport.Passport();
    instance.use(JWT_DEVICES_STRATEGY, t.app.get(DeviceJwtStrategy));
    let info: unknown;
    const run = (authorization: string) =>
      new Promise((resolve, reject) =>
        instance.authenticate(JWT_DEVICES_STRATEGY, { session: false }, (error: unknown, user: unknown, challenge: unknown) => {
          info = challenge;
          return error ? reject(error) : resolve(user);
        })({ headers: { authorization } }, {}, reject),
      );
    expect(await run(`JWT ${body.token}`)).toMatchObject({ id: 1, username: 'alice' });
    // A refused token fails (passport then tries the next strategy of a chain) and says why.
    expect(await run('JWT garbage')).toBe(false);
    expect(info).toMatch(/Invalid token/);
  });
});
