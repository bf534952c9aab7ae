import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { theCookie } from '../../test/support/cookies.js';
import { currentHttpAdapter, startApp } from '../../test/support/test-app.js';
import { AppModule } from '../src/app.module.js';
import { readConfig } from '../src/config.js';

const ROOT = join(import.meta.dirname, '..', '..');

const HTTP_ADAPTER = currentHttpAdapter();

async function startInProcess(env: NodeJS.ProcessEnv): Promise<INestApplication> {
  const moduleRef = await Test.createTestingModule({
    imports: [AppModule.register(readConfig({ DATABASE_URL: 'sqlite::memory:', ...env }))],
  }).compile();
  return startApp(moduleRef, ['error']);
}

describe('example app (in process)', () => {
  let app: INestApplication | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  it('serves /health, the seeded users and a guarded /me', async () => {
    app = await startInProcess({});
    const http = request(app.getHttpServer());
    expect((await http.get('/health')).body).toEqual({ status: 'ok' });
    expect((await http.get('/me')).status).toBe(401);
    for (const [username, password, id] of [['alice', 'alice-password', 1], ['bob', 'bob-password', 2]] as const) {
      const login = await http.post('/auth-token/').set('X-Device-Model', 'Pixel').send({ username, password });
      expect(login.status).toBe(200);
      const me = await http.get('/me').set('Authorization', `JWT ${login.body.token}`);
      expect(me.body).toEqual({ id, username, device_id: login.body.device_id });
    }
    expect((await http.post('/auth-token/').send({ username: 'alice', password: 'bob-password' })).status).toBe(400);
  });

  it('takes the drf-jwt-devices settings from the environment', async () => {
    app = await startInProcess({ JWT_PERMANENT_TOKEN_AUTH: 'false' });
    const http = request(app.getHttpServer());
    const login = await http.post('/auth-token/').send({ username: 'alice', password: 'alice-password' });
    expect(Object.keys(login.body)).toEqual(['token']);
    expect((await http.get('/me').set('Authorization', `Bearer ${login.body.token}`)).body).toEqual({
      id: 1,
      username: 'alice',
      device_id: null,
    });
  });

  it('maps every documented environment variable to its module option', () => {
    const config = readConfig({
      PORT: '4123',
      HTTP_ADAPTER: 'fastify',
      DATABASE_URL: 'postgres://u@db:5432/app',
      JWT_SECRET: 'a-secret-from-the-environment-of-32-chars',
      JWT_PERMANENT_TOKEN_AUTH: 'false',
      JWT_PERMANENT_TOKEN_EXPIRATION_DELTA: '3d',
      JWT_PERMANENT_TOKEN_EXPIRATION_ACCURACY: '600',
      JWT_EXPIRATION_DELTA: '90s',
      JWT_PERMANENT_TOKEN_ROTATION: 'true',
      JWT_PERMANENT_TOKEN_REUSE_INTERVAL: '5s',
      JWT_PERMANENT_TOKEN_MAX_AGE: '30d',
      JWT_DEVICES_PER_USER: '4',
      REDIS_URL: 'redis://cache:6379',
      JWT_DEVICE_CACHE_SIZE: '500',
      JWT_DEVICE_CACHE_TTL: '2s',
      JWT_COOKIE_SECURE: 'false',
    });
    expect(config).toMatchObject({ port: 4123, httpAdapter: 'fastify', jwtSecretIsDefault: false });
    expect(config.database).toEqual({ type: 'postgres', url: 'postgres://u@db:5432/app' });
    expect(config.settings).toEqual({
      permanentTokenAuth: false,
      permanentTokenExpiration: '3d',
      permanentTokenExpirationAccuracy: 600,
      jwtExpiration: '90s',
      permanentTokenRotation: true,
      permanentTokenReuseInterval: '5s',
      permanentTokenMaxAge: '30d',
      devicesPerUser: 4,
      redis: { url: 'redis://cache:6379' },
      deviceCacheSize: 500,
      deviceCacheTtl: '2s',
      cookieTransport: { secure: false },
    });
    // `0` turns the device cache off; a bad value is refused before the app starts.
    expect(readConfig({ JWT_DEVICE_CACHE_SIZE: '0', JWT_DEVICE_CACHE_TTL: '0' }).settings).toMatchObject({ deviceCacheSize: 0, deviceCacheTtl: 0 });
    expect(() => readConfig({ JWT_DEVICE_CACHE_SIZE: 'many' })).toThrow(/JWT_DEVICE_CACHE_SIZE/);
    expect(readConfig({ DATABASE_URL: 'sqlite:/srv/app.sqlite' }).database).toEqual({ type: 'better-sqlite3', database: '/srv/app.sqlite', enableWAL: true });
    expect(readConfig({ DATABASE_URL: 'mariadb://root@db/app' }).database).toEqual({ type: 'mariadb', url: 'mysql://root@db/app', timezone: 'Z' });
    expect(readConfig({ DATABASE_URL: 'sqlite::memory:' }).database).toEqual({ type: 'better-sqlite3', database: ':memory:' });
    // Unset: port 3000 on Express, a SQLite file under the project in WAL mode, the development secret…
    expect(readConfig({})).toMatchObject({
      port: 3000,
      httpAdapter: 'express',
      jwtSecretIsDefault: true,
      database: { type: 'better-sqlite3', database: join(ROOT, 'example', 'data', 'example.sqlite'), enableWAL: true },
    });
    // …the module's defaults, and the cookie transport on (Secure) for the page at GET /.
    expect(readConfig({}).settings).toEqual({
      ...Object.fromEntries(Object.keys(config.settings).map((key) => [key, undefined])),
      cookieTransport: true,
    });
    expect(() => readConfig({ JWT_COOKIE_SECURE: 'maybe' })).toThrow(/JWT_COOKIE_SECURE/);
  });

  it('refuses a bad setting at start-up, naming it', async () => {
    await expect(startInProcess({ JWT_EXPIRATION_DELTA: 'five minutes' })).rejects.toThrow(/jwtExpiration/);
    expect(() => readConfig({ DATABASE_URL: 'oracle://x' })).toThrow(/DATABASE_URL/);
  });

  it('throttles login and refresh per client (THROTTLE_*_PER_MINUTE; 429 with Retry-After), and 0 turns a throttle off', async () => {
    expect(readConfig({}).throttle).toEqual({ loginPerMinute: 10, refreshPerMinute: 60 });
    expect(readConfig({ THROTTLE_LOGIN_PER_MINUTE: '0', THROTTLE_REFRESH_PER_MINUTE: '5' }).throttle).toEqual({ loginPerMinute: 0, refreshPerMinute: 5 });
    expect(() => readConfig({ THROTTLE_LOGIN_PER_MINUTE: 'lots' })).toThrow(/THROTTLE_LOGIN_PER_MINUTE/);

    app = await startInProcess({ THROTTLE_LOGIN_PER_MINUTE: '2', THROTTLE_REFRESH_PER_MINUTE: '1' });
    const http = request(app.getHttpServer());
    const alice = { username: 'alice', password: 'alice-password' };
    const first = await http.post('/auth-token/').send(alice);
    expect(first.status).toBe(200);
    expect((await http.post('/auth-token/').send({ ...alice, password: 'wrong' })).status).toBe(400);
    const limited = await http.post('/auth-token/').send(alice);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect((await http.post('/device-refresh-token/').set('Permanent-Token', first.body.permanent_token)).status).toBe(200);
    expect((await http.post('/device-refresh-token/').set('Permanent-Token', first.body.permanent_token)).status).toBe(429);
    expect((await http.get('/me').set('Authorization', `Bearer ${first.body.token}`)).status).toBe(200);
    await app.close();

    app = await startInProcess({ THROTTLE_LOGIN_PER_MINUTE: '0' });
    const open = request(app.getHttpServer());
    for (let i = 0; i < 12; i++) expect((await open.post('/auth-token/').send(alice)).status).toBe(200);
  });

  it('sets the page’s cookie Secure (__Secure- name) by default, and plain with JWT_COOKIE_SECURE=false, and renews from it', async () => {
    const marker = { 'Permanent-Token-Transport': 'cookie' };
    for (const [env, name, secure] of [
      [{}, '__Secure-jwt-devices-permanent', true],
      [{ JWT_COOKIE_SECURE: 'false' }, 'jwt-devices-permanent', false],
    ] as const) {
      app = await startInProcess(env);
      const http = request(app.getHttpServer());
      const login = await http.post('/auth-token/').set(marker).send({ username: 'alice', password: 'alice-password' });
      expect(login.status).toBe(200);
      expect(login.body).not.toHaveProperty('permanent_token');
      const cookie = theCookie(login);
      const { value } = cookie;
      expect(cookie.name).toBe(name);
      expect(value).toMatch(/^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/);
      expect(cookie.attributes, cookie.raw).toMatchObject({ path: '/device-refresh-token', httponly: true, samesite: 'Strict' });
      expect(cookie.attributes.secure === true, cookie.raw).toBe(secure);

      const renewed = await http.post('/device-refresh-token/').set(marker).set('Cookie', `${name}=${value}`);
      expect(renewed.status).toBe(200);
      expect((await http.get('/me').set('Authorization', `Bearer ${renewed.body.token}`)).body).toMatchObject({ username: 'alice', device_id: login.body.device_id });
      // The other setting's cookie name is not this app's cookie: the page is signed out, nothing is read.
      const other = name.startsWith('__Secure-') ? 'jwt-devices-permanent' : '__Secure-jwt-devices-permanent';
      const foreign = await http.post('/device-refresh-token/').set(marker).set('Cookie', `${other}=${value}`);
      expect(foreign.status).toBe(200);
      expect(foreign.body).toEqual({ token: null });
      await app.close();
      app = undefined;
    }
  });
  it('refuses to start in production without JWT_SECRET, naming it; elsewhere it warns and uses a development secret', () => {
    expect(() => readConfig({ NODE_ENV: 'production' })).toThrow(/JWT_SECRET is required when NODE_ENV=production/);
    expect(readConfig({ NODE_ENV: 'production', JWT_SECRET: 'a-secret-from-the-environment-of-32-chars' }).jwtSecretIsDefault).toBe(false);
    expect(readConfig({ NODE_ENV: 'development' }).jwtSecretIsDefault).toBe(true);
  });
});

describe(`example app as \`npm start\` runs it (${HTTP_ADAPTER})`, () => {
  let server: ChildProcess | undefined;
  let dataDir: string;
  let baseUrl: string;

  beforeAll(async () => {
    execFileSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: 'pipe' });
    execFileSync('npm', ['run', '--silent', 'build:example'], { cwd: ROOT, stdio: 'pipe' });
    dataDir = mkdtempSync(join(tmpdir(), 'jwt-devices-example-'));
    server = spawn(process.execPath, ['example/dist/main.js'], {
      cwd: ROOT,
      env: {
        ...process.env,
        PORT: '0',
        HTTP_ADAPTER,
        DATABASE_URL: `sqlite:${join(dataDir, 'app.sqlite')}`,
        JWT_EXPIRATION_DELTA: '2s',
        NO_COLOR: '1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    baseUrl = await new Promise<string>((resolve, reject) => {
      let output = '';
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        const match = /Listening on (http:\/\/[\d.]+:\d+)/.exec(output);
        if (match) resolve(match[1]!);
      };
      server!.stdout!.on('data', onData);
      server!.stderr!.on('data', onData);
      server!.on('exit', (code) => reject(new Error(`example exited with ${code}:\n${output}`)));
    });
  }, 120_000);

  afterAll(() => {
    server?.kill();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('walks a drf-jwt-devices client through login, list, refresh, logout, and keeps no permanent token on disk', async () => {
    const call = async (method: string, path: string, headers: Record<string, string> = {}, body?: unknown) => {
      const response = await fetch(baseUrl + path, {
        method,
        headers: { ...(body === undefined ? {} : { 'Content-Type': 'application/json' }), ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      return { status: response.status, body: text ? JSON.parse(text) : undefined };
    };
    expect(await call('GET', '/health')).toEqual({ status: 200, body: { status: 'ok' } });
    const login = await call('POST', '/auth-token/', { 'X-Device-Model': 'Nokia 3310', 'User-Agent': 'drf-client/1.0' }, {
      username: 'alice',
      password: 'alice-password',
    });
    expect(login.status).toBe(200);
    const { token, permanent_token, device_id } = login.body;
    const auth = { Authorization: `JWT ${token}` };

    const devices = await call('GET', '/devices/', auth);
    expect(devices.body).toEqual([expect.objectContaining({ id: device_id, name: 'Nokia 3310', details: 'drf-client/1.0' })]);
    expect((await call('GET', '/me', auth)).body).toEqual({ id: 1, username: 'alice', device_id });

    const refreshed = await call('POST', '/device-refresh-token/', { 'Permanent-Token': permanent_token });
    expect(refreshed.status).toBe(200);
    expect((await call('GET', '/devices/', { 'Permanent-Token': permanent_token, ...auth })).status).toBe(400);
    expect((await call('POST', '/auth-token/', {}, '{')).status).toBe(400);

    // JWT_EXPIRATION_DELTA=2s; JWT times are whole seconds, rounded up, so it lives under 3 s.
    await new Promise((resolve) => setTimeout(resolve, 3_050));
    expect((await call('GET', '/me', auth)).status).toBe(401);

    const database = readFileSync(join(dataDir, 'app.sqlite'));
    expect(database.includes(Buffer.from(permanent_token))).toBe(false);

    const fresh = (await call('POST', '/device-refresh-token/', { 'Permanent-Token': permanent_token })).body.token;
    expect((await call('DELETE', '/device-logout/', { Authorization: `Bearer ${fresh}`, 'Device-Id': String(device_id) })).status).toBe(204);
    expect((await call('GET', '/me', { Authorization: `Bearer ${fresh}` })).status).toBe(401);
    expect((await call('POST', '/device-refresh-token/', { 'Permanent-Token': permanent_token })).status).toBe(400);
  });

  it('serves the device manager page at GET / with its script and style (read from example/public/ beside dist/)', async () => {
    const page = await fetch(`${baseUrl}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('content-security-policy')).toMatch(/default-src 'none'; script-src 'self'/);
    expect(await page.text()).toContain('<script type="module" src="/app.js">');
    for (const [path, type] of [['/app.js', /^text\/javascript/], ['/app.css', /^text\/css/]] as const) {
      const file = await fetch(baseUrl + path);
      expect(file.status, path).toBe(200);
      expect(file.headers.get('content-type'), path).toMatch(type);
    }
  });

  it('serves Swagger UI at /docs and the OpenAPI document at /docs-json, with the module’s routes and its own /me', async () => {
    const ui = await fetch(`${baseUrl}/docs`);
    expect(ui.status).toBe(200);
    expect(ui.headers.get('content-type')).toMatch(/text\/html/);
    const document = (await (await fetch(`${baseUrl}/docs-json`)).json()) as { paths: Record<string, Record<string, { security?: unknown; responses: object }>> };
    expect(Object.keys(document.paths)).toEqual(
      expect.arrayContaining(['/health', '/me', '/auth-token/', '/device-refresh-token/', '/device-logout/', '/devices/', '/devices/others/', '/devices/{id}/']),
    );
    expect(document.paths['/me']!.get!.security).toEqual([{ jwtDevices: [] }]);
    expect(Object.keys(document.paths['/me']!.get!.responses)).toEqual(expect.arrayContaining(['200', '401']));
    expect(document.paths['/auth-token/']!.post!.security).toEqual([]);
    // The cookie transport the page uses is documented, under the cookie's real name.
    const refresh = document.paths['/device-refresh-token/']!.post! as unknown as { parameters: { name: string; in: string }[] };
    expect(refresh.parameters).toEqual(expect.arrayContaining([expect.objectContaining({ in: 'cookie', name: '__Secure-jwt-devices-permanent' })]));
  });
});
