import { Test } from '@nestjs/testing';
import { getDataSourceToken, TypeOrmModule } from '@nestjs/typeorm';
import { afterEach, describe, expect, it } from 'vitest';
import { Device, DevicesService, JwtDevicesModule, type JwtDevicesModuleOptions, JwtDevicesOptionsError } from '../lib/index.js';
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
    // SQLite: the app never gets to use its database, whichever the project's is.
    const invalid = (options: Partial<JwtDevicesModuleOptions>) => createTestApp({ form, options, database: 'sqlite' });
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
      const { default: request } = await import('supertest');
      const response = await request(app.getHttpServer()).post('/auth-token/').send(ALICE);
      expect(response.status).toBe(404);
      expect(response.body.message).toMatch(/own login/);
    } finally {
      await app.close();
    }
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
    const run = (authorization: string) =>
      new Promise((resolve, reject) =>
        instance.authenticate(JWT_DEVICES_STRATEGY, { session: false }, (error: unknown, user: unknown) =>
          error ? reject(error) : resolve(user),
        )({ headers: { authorization } }, {}, reject),
      );
    expect(await run(`JWT ${body.token}`)).toMatchObject({ id: 1, username: 'alice' });
    await expect(run('JWT garbage')).rejects.toMatchObject({ status: 401 });
  });
});
