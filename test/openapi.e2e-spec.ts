import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { Validator } from '@seriousme/openapi-schema-validator';
import { afterEach, describe, expect, it } from 'vitest';
import { addJwtDevicesToOpenApi } from '../lib/index.js';
import { createTestApp, type TestApp } from './support/test-app.js';

let t: TestApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

type Operation = {
  parameters?: { name: string; in: string; required: boolean }[];
  requestBody?: { content: Record<string, { schema: { $ref?: string } }> };
  responses: Record<string, unknown>;
  security?: unknown[];
};

async function document(options: Parameters<typeof addJwtDevicesToOpenApi>[1] = {}, extras = {}) {
  t = await createTestApp({ extras });
  const generated = SwaggerModule.createDocument(t.app, new DocumentBuilder().setTitle('test').build());
  return addJwtDevicesToOpenApi(generated as never, options) as unknown as {
    paths: Record<string, Record<string, Operation>>;
    components: { schemas: Record<string, { properties: Record<string, unknown>; required?: string[] }>; securitySchemes: Record<string, unknown> };
  };
}

/** Every status each route can answer (400 for a stray Permanent-Token and 503 on every one). */
const CONTRACT: [string, string, string[]][] = [
  ['/auth-token/', 'post', ['200', '400', '409', '415', '503']],
  ['/device-refresh-token/', 'post', ['200', '400', '415', '503']],
  ['/device-logout/', 'delete', ['204', '400', '401', '404', '503']],
  ['/devices/', 'get', ['200', '400', '401', '503']],
  ['/devices/', 'delete', ['204', '400', '401', '404', '503']],
  ['/devices/others/', 'delete', ['204', '400', '401', '404', '503']],
  ['/devices/{id}/', 'delete', ['204', '400', '401', '404', '503']],
  ['/devices/{id}/', 'patch', ['200', '400', '401', '404', '415', '503']],
];

describe('OpenAPI document (with @nestjs/swagger)', () => {
  it('has every module route with its responses, and no bare duplicate Swagger made of them', async () => {
    const doc = await document();
    for (const [path, method, statuses] of CONTRACT) {
      const operation = doc.paths[path]?.[method];
      expect(operation, `${method} ${path}`).toBeDefined();
      expect(Object.keys(operation!.responses).sort()).toEqual(statuses.sort());
      expect(doc.paths[path.slice(0, -1)]?.[method], `bare ${method} ${path}`).toBeUndefined();
    }
    expect(doc.paths['/me']?.get).toBeDefined(); // the app's own routes stay
  });

  it('documents headers, bodies, schemas and the JWT security scheme', async () => {
    const doc = await document();
    const params = (path: string, method: string) =>
      Object.fromEntries((doc.paths[path]![method]!.parameters ?? []).map((p) => [`${p.in}:${p.name}`, p.required]));
    expect(params('/auth-token/', 'post')).toEqual({ 'header:X-Device-Model': false, 'header:User-Agent': false });
    expect(params('/device-refresh-token/', 'post')).toEqual({ 'header:Permanent-Token': true });
    expect(params('/device-logout/', 'delete')).toEqual({ 'header:Device-Id': true });
    expect(params('/devices/{id}/', 'delete')).toEqual({ 'path:id': true });
    expect(doc.paths['/auth-token/']!.post!.requestBody!.content['application/json']!.schema.$ref).toBe('#/components/schemas/JwtDevicesLoginRequest');
    expect(doc.components.schemas.JwtDevicesLoginRequest!.required).toEqual(['username', 'password']);
    expect(Object.keys(doc.components.schemas.JwtDevicesLoginResponse!.properties)).toEqual(['token', 'permanent_token', 'device_id']);
    expect(Object.keys(doc.components.schemas.JwtDevicesDevice!.properties)).toEqual(
      expect.arrayContaining(['id', 'created', 'name', 'details', 'last_request_datetime', 'current']),
    );
    expect(doc.components.schemas.JwtDevicesRefreshResponse!.required).toEqual(['token']);
    expect(doc.components.securitySchemes.jwtDevices).toMatchObject({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });
    expect(doc.paths['/devices/']!.get!.security).toEqual([{ jwtDevices: [] }]);
    expect(doc.paths['/auth-token/']!.post!.security).toEqual([]);
    expect(doc.paths['/device-refresh-token/']!.post!.security).toEqual([]);
  });

  it('finds the module’s routes under the global prefix and the module path, with no option', async () => {
    t = await createTestApp({ extras: { path: 'auth' } });
    // A global prefix set on a running test app takes effect for the document only after init; build a
    // document the way Swagger would see `app.setGlobalPrefix('api')`: every path under /api.
    const generated = SwaggerModule.createDocument(t.app, new DocumentBuilder().build());
    const prefixed = { ...generated, paths: Object.fromEntries(Object.entries(generated.paths).map(([path, item]) => [`/api${path}`, item])) };
    const doc = addJwtDevicesToOpenApi(prefixed) as unknown as { paths: Record<string, Record<string, Operation>> };
    for (const [path, method] of CONTRACT) {
      expect(doc.paths[`/api/auth${path}`]?.[method], `${method} /api/auth${path}`).toBeDefined();
      expect(doc.paths[`/api/auth${path}`.slice(0, -1)]?.[method]).toBeUndefined();
    }
    expect(Object.keys(doc.paths).filter((path) => !path.startsWith('/api/auth/'))).toEqual(['/api/me', '/api/public']);
  });

  it('follows the route prefix and documents rotation', async () => {
    const doc = await document({ path: 'api', rotation: true }, { path: 'api' });
    expect(doc.paths['/api/auth-token/']?.post).toBeDefined();
    expect(doc.paths['/api/auth-token']).toBeUndefined();
    expect(doc.paths['/auth-token/']).toBeUndefined();
    expect(doc.components.schemas.JwtDevicesRefreshResponse!.required).toEqual(['token', 'permanent_token']);
  });

  it('documents the cookie transport when given the cookie name, and only then', async () => {
    const doc = await document({ cookieName: 'jwt-devices-permanent' });
    const params = (path: string, method: string) =>
      Object.fromEntries((doc.paths[path]![method]!.parameters ?? []).map((p) => [`${p.in}:${p.name}`, p.required]));
    expect(params('/device-refresh-token/', 'post')).toEqual({
      'header:Permanent-Token': false,
      'header:Permanent-Token-Transport': false,
      'cookie:jwt-devices-permanent': false,
    });
    for (const [path, method] of [['/auth-token/', 'post'], ['/device-logout/', 'delete'], ['/devices/', 'delete'], ['/devices/{id}/', 'delete']] as const) {
      expect(params(path, method)['header:Permanent-Token-Transport'], `${method} ${path}`).toBe(false);
      expect(Object.keys(doc.paths[path]![method]!.responses), `${method} ${path}`).toContain('403');
    }
    const success = doc.paths['/auth-token/']!.post!.responses['200'] as { headers: Record<string, unknown> };
    expect(Object.keys(success.headers).sort()).toEqual(['Cache-Control', 'Set-Cookie']);
    // Without the option nothing of it appears (the CONTRACT table above has no 403).
    await t?.close();
    const plain = await document();
    expect(JSON.stringify(plain)).not.toContain('Permanent-Token-Transport');
  });

  it('documents the signed-out browser’s 200 {token: null} on refresh, and stays a valid OpenAPI document (with and without rotation)', async () => {
    for (const rotation of [false, true]) {
      await t?.close();
      const doc = await document({ cookieName: '__Secure-jwt-devices-permanent', rotation });
      const result = await new Validator().validate(doc as never);
      expect(result.errors ?? [], `rotation: ${rotation}`).toEqual([]);
      expect(result.valid).toBe(true);
      const refresh = doc.paths['/device-refresh-token/']!.post!.responses as Record<string, { description: string; content: Record<string, { schema: unknown }>; headers: Record<string, unknown> }>;
      expect(refresh['200']!.content['application/json']!.schema).toEqual({
        anyOf: [{ $ref: '#/components/schemas/JwtDevicesRefreshResponse' }, { $ref: '#/components/schemas/JwtDevicesCookieRefreshResponse' }],
      });
      expect(refresh['200']!.description).toContain('{token: null}');
      expect(Object.keys(refresh['200']!.headers).sort()).toEqual(['Cache-Control', 'Set-Cookie']);
      // A refused header client's 400 sets no cookie; the browser's refusal is the 200 above.
      expect(Object.keys(refresh['400']!.headers)).toEqual(['Cache-Control']);
      expect(doc.components.schemas.JwtDevicesCookieRefreshResponse).toMatchObject({
        type: 'object',
        required: ['token'],
        properties: { token: { type: 'string', nullable: true } },
      });
    }
    // Without the cookie transport, no such schema: header clients never get a null token.
    await t?.close();
    const plain = await document();
    expect(plain.components.schemas.JwtDevicesCookieRefreshResponse).toBeUndefined();
    expect(JSON.stringify(plain.paths['/device-refresh-token/'])).not.toContain('null');
  });

  it('is optional: no file of the module imports @nestjs/swagger', () => {
    const lib = join(import.meta.dirname, '..', 'lib');
    const sources = readdirSync(lib, { recursive: true, encoding: 'utf8' }).filter((file) => file.endsWith('.ts') && !file.endsWith('.spec.ts'));
    expect(sources.length).toBeGreaterThan(10);
    for (const file of sources) expect(readFileSync(join(lib, file), 'utf8'), file).not.toMatch(/from ['"]@nestjs\/swagger['"]/);
  });
});
