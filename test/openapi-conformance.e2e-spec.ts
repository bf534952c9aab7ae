import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addJwtDevicesToOpenApi } from '../lib/index.js';
import { ALICE, BOB, createTestApp, login, type TestApp } from './support/test-app.js';

/**
 * The OpenAPI document against the running app: a third-party validator finds it valid, and every
 * answer to more than a thousand requests (real credentials, hostile headers, ids and bodies) has
 * a status the document lists for that operation, a body that matches the schema documented for that
 * status (ajv), and no undocumented `WWW-Authenticate` or `Cache-Control: no-store`; no 5xx but 503.
 */

type Response = { content?: Record<string, { schema: unknown }>; headers?: Record<string, unknown> };
type Operation = { responses: Record<string, Response> };
type Document = { paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, unknown> } };

const ajv = new Ajv({ strict: false, allErrors: true });
addFormats.default(ajv);

/** A response schema with its `$ref`s to the document's components inlined (they are not recursive). */
function inline(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(inline);
  if (schema === null || typeof schema !== 'object') return schema;
  const { $ref } = schema as { $ref?: string };
  if ($ref) return inline(document.components.schemas[$ref.replace('#/components/schemas/', '')]);
  return Object.fromEntries(Object.entries(schema).map(([key, value]) => [key, inline(value)]));
}

let t: TestApp;
let document: Document;

beforeAll(async () => {
  t = await createTestApp({ options: { devicesPageSize: 1 } }); // alice's two devices take two pages: a Link header
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
    await login(t, ALICE);
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
      ['GET', (id) => `/devices/?after=${id}`],
      ['DELETE', () => '/devices/others/'],
      ['PATCH', (id) => `/devices/${id || 'x'}/`],
      ['DELETE', (id) => `/devices/${id || 'x'}/`],
    ];
    const seen: string[] = [];
    let sent = 0;
    // A page with a next one: its Link header is documented.
    const paged = await t.http.get('/devices/').set('Authorization', `Bearer ${alice.token}`).expect(200);
    expect(paged.headers.link).toMatch(/rel="next"/);
    expect(Object.keys(operationOf('GET', '/devices/')!.responses['200']!.headers ?? {})).toContain('Link');
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
          const documented = operation!.responses[String(response.status)];
          const where = `${method} ${url(deviceId)} → ${response.status} ${JSON.stringify(response.body)}`;
          if (!documented) seen.push(`undocumented status: ${where}`);
          else if (documented.content) {
            const validate = ajv.compile(inline(documented.content['application/json']!.schema) as object);
            if (!validate(response.body)) seen.push(`body off its schema (${ajv.errorsText(validate.errors)}): ${where}`);
          } else if (response.text) seen.push(`a body where none is documented: ${where}`);
          for (const name of ['cache-control', 'www-authenticate', 'link']) {
            const listed = Object.keys(documented?.headers ?? {}).some((header) => header.toLowerCase() === name);
            if (response.headers[name] && name === 'link' && !listed) seen.push(`undocumented ${name} header: ${where}`);
            if (response.headers[name] && name === 'www-authenticate' && !listed) seen.push(`undocumented ${name} header: ${where}`);
            if (response.headers[name] === 'no-store' && !listed) seen.push(`undocumented ${name} header: ${where}`);
          }
          expect(response.status === 503 || response.status < 500, `${method} ${url(deviceId)} → ${response.status}`).toBe(true);
        }
      }
    }
    }
    expect(sent).toBeGreaterThanOrEqual(1_000);
    expect(seen, 'answers the document does not describe').toEqual([]);
  });
});
