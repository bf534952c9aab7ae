import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addJwtDevicesToOpenApi } from '../lib/index.js';
import { ALICE, BOB, createTestApp, login, type TestApp } from './support/test-app.js';

/**
 * The OpenAPI document against the running app: a third-party validator finds it valid, and every
 * answer to more than a thousand requests (real credentials, hostile headers, ids and bodies) has
 * a status the document lists for that operation, with no 5xx but 503.
 */

type Operation = { responses: Record<string, unknown> };
type Document = { paths: Record<string, Record<string, Operation>> };

let t: TestApp;
let document: Document;

beforeAll(async () => {
  t = await createTestApp();
  document = addJwtDevicesToOpenApi(SwaggerModule.createDocument(t.app, new DocumentBuilder().setTitle('conformance').build())) as unknown as Document;
});

afterAll(async () => {
  await t?.close();
});

/** The document's operation for a request path (`/devices/12/` matches `/devices/{id}/`). */
function operationOf(method: string, url: string): Operation | undefined {
  const path = url.split('?')[0]!.replace(/\/?$/, '/');
  for (const [template, item] of Object.entries(document.paths)) {
    const pattern = new RegExp(`^${template.replace(/\/?$/, '/').replace(/\{[^}]+\}/g, '[^/]+')}$`);
    if (pattern.test(path)) return item[method.toLowerCase()];
  }
  return undefined;
}

describe('the OpenAPI document against the running app', () => {
  it('is a valid OpenAPI document (third-party validator)', async () => {
    const result = await new Validator().validate(document as never);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it('lists every status that more than a thousand requests to the module’s routes got', async () => {
    const alice = await login(t, ALICE);
    const bob = await login(t, BOB);
    const tokens = ['', 'Bearer ', `Bearer ${alice.token}`, `JWT ${bob.token}`, `Bearer ${alice.token}x`, 'Bearer a.b.c', `Basic ${alice.token}`];
    const deviceIds = ['', String(alice.device_id), String(bob.device_id), '0', '-1', 'abc', '99999999999999999999', '1e3'];
    const bodies: unknown[] = [undefined, {}, { username: 'alice' }, { username: 'alice', password: 'wrong' }, { name: '' }, { name: 'Renamed' }, [1], 'text', { name: 'x'.repeat(300) }];
    const routes: Array<[string, (id: string) => string]> = [
      ['POST', () => '/auth-token/'],
      ['POST', () => '/device-refresh-token/'],
      ['DELETE', () => '/device-logout/'],
      ['GET', () => '/devices/'],
      ['DELETE', () => '/devices/others/'],
      ['PATCH', (id) => `/devices/${id || 'x'}/`],
      ['DELETE', (id) => `/devices/${id || 'x'}/`],
    ];
    const seen: string[] = [];
    let sent = 0;
    for (const variant of [0, 1, 2]) {
    for (const [method, url] of routes) {
      for (const authorization of tokens) {
        for (const [index, deviceId] of deviceIds.entries()) {
          const body = bodies[(index + variant * 3 + sent) % bodies.length];
          const headers: Record<string, string> = {};
          if (url('') === '/device-refresh-token/' && sent % 3 !== 0) headers['Permanent-Token'] = sent % 2 ? 'forged' : bob.permanent_token;
          else if (sent % 11 === 0) headers['Permanent-Token'] = alice.permanent_token; // stray: refused everywhere else
          if (authorization) headers.Authorization = authorization;
          if (deviceId) headers['Device-Id'] = deviceId;
          let test = t.http[method.toLowerCase() as 'get'](url(deviceId)).set(headers);
          if (body !== undefined) test = typeof body === 'string' ? test.set('Content-Type', 'text/plain').send(body) : test.send(body as object);
          const response = await test;
          sent++;
          const operation = operationOf(method, url(deviceId));
          expect(operation, `${method} ${url(deviceId)}`).toBeDefined();
          if (!(String(response.status) in operation!.responses)) seen.push(`${method} ${url(deviceId)} → ${response.status} ${JSON.stringify(response.body)}`);
          expect(response.status === 503 || response.status < 500, `${method} ${url(deviceId)} → ${response.status}`).toBe(true);
        }
      }
    }
    }
    expect(sent).toBeGreaterThanOrEqual(1_000);
    expect(seen, 'statuses the document does not list').toEqual([]);
  });
});
