import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import { UseGuards } from '@nestjs/common';
import { Field, GraphQLModule, Int, ObjectType, Query, Resolver } from '@nestjs/graphql';
import { MercuriusDriver, type MercuriusDriverConfig } from '@nestjs/mercurius';
import { AuthGuard } from '@nestjs/passport';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type AuthenticatedDevice, CurrentDevice, CurrentUser, JWT_DEVICES_CLOSE_CODES, JwtDevicesGuard } from '../lib/index.js';
import { SECOND } from './support/fake-clock.js';
import { gatewaySetup } from './support/gateway.js';
import { connect, type TestSocket } from './support/sockets.js';
import { median } from './support/timing.js';
import { ALICE, createTestApp, currentHttpAdapter, login, type TestApp } from './support/test-app.js';
import type { TestUser } from './support/users.js';

/**
 * Issue 14 on GraphQL, as a new user would write it: a code-first resolver under
 * `@UseGuards(JwtDevicesGuard)` with `@CurrentDevice()` and `@CurrentUser()`, on Apollo (Express) or
 * Mercurius (Fastify), in the same app as a `ws` gateway; refusals as GraphQL errors with
 * `extensions.code`, never a 5xx; deleting the device closes its open socket.
 */
const adapter = currentHttpAdapter();

@ObjectType()
class Me {
  @Field(() => Int, { nullable: true })
  deviceId!: number | null;

  @Field(() => String)
  userId!: string;

  @Field(() => String)
  username!: string;
}

@Resolver()
class MeResolver {
  @Query(() => Me)
  @UseGuards(JwtDevicesGuard)
  me(@CurrentDevice() device: AuthenticatedDevice, @CurrentUser() user: TestUser): Me {
    return { deviceId: device.id, userId: device.userId, username: user.username };
  }

  /** `AuthGuard('jwt-devices')` as it is, no subclass: the module taught passport's guard class the GraphQL request. */
  @Query(() => Me)
  @UseGuards(AuthGuard('jwt-devices'))
  passport(@CurrentDevice() device: AuthenticatedDevice, @CurrentUser() user: TestUser): Me {
    return { deviceId: device.id, userId: device.userId, username: user.username };
  }

  @Query(() => String)
  hello(): string {
    return 'world';
  }
}

const graphql =
  adapter === 'fastify'
    ? GraphQLModule.forRoot<MercuriusDriverConfig>({ driver: MercuriusDriver, autoSchemaFile: true })
    : GraphQLModule.forRoot<ApolloDriverConfig>({ driver: ApolloDriver, autoSchemaFile: true, includeStacktraceInErrorResponses: false });

describe(`GraphQL on ${adapter === 'fastify' ? 'Mercurius (Fastify)' : 'Apollo (Express)'}, beside a ws gateway`, () => {
  let t: TestApp;
  let open: TestSocket[] = [];

  beforeAll(async () => {
    const gateway = gatewaySetup('ws');
    t = await createTestApp({ ...gateway, imports: [graphql], providers: [...gateway.providers!, MeResolver] });
    return () => t.close();
  });
  afterEach(async () => {
    await Promise.all(open.map((socket) => socket.close()));
    open = [];
  });

  async function query(text: string, headers: Record<string, string> = {}) {
    return t.http.post('/graphql').set(headers).send({ query: text });
  }

  it('answers a guarded query with the device and the user', async () => {
    const alice = await login(t, ALICE);
    for (const scheme of ['Bearer', 'JWT']) {
      const response = await query('{ me { deviceId userId username } }', { Authorization: `${scheme} ${alice.token}` });
      expect(response.status).toBe(200);
      expect(response.body).toEqual({ data: { me: { deviceId: alice.device_id, userId: '1', username: 'alice' } } });
    }
  });

  it('refuses a missing, forged, expired or revoked JWT with UNAUTHENTICATED, never a 5xx', async () => {
    const alice = await login(t, ALICE);
    const revoked = await login(t, ALICE);
    await t.http.delete(`/devices/${revoked.device_id}/`).set('Authorization', `Bearer ${alice.token}`).expect(204);
    const [header, payload] = alice.token.split('.');
    const cases: Array<[string, Record<string, string>, RegExp]> = [
      ['missing', {}, /token/i],
      ['forged', { Authorization: `Bearer ${header}.${payload}.${'A'.repeat(43)}` }, /token/i],
      ['revoked', { Authorization: `Bearer ${revoked.token}` }, /token/i],
      ['garbage', { Authorization: 'Bearer a.b.c trailing' }, /token/i],
      ['another scheme', { Authorization: 'Basic YWxpY2U6YWxpY2UtcGFzc3dvcmQ=' }, /token/i],
      ['huge', { Authorization: `JWT ${'x'.repeat(8_000)}` }, /token/i],
    ];
    for (const [what, headers, message] of cases) {
      const response = await query('{ me { deviceId } }', headers);
      expect(response.status, what).toBeLessThan(500);
      expect(response.body.data, what).toBeNull();
      expect(response.body.errors, what).toEqual([expect.objectContaining({ message: expect.stringMatching(message), extensions: expect.objectContaining({ code: 'UNAUTHENTICATED' }) })]);
    }
    const expiring = await login(t, ALICE);
    t.clock.advance(5 * 60 * SECOND + 1);
    const expired = await query('{ me { deviceId } }', { Authorization: `Bearer ${expiring.token}` });
    expect(expired.body.errors[0]).toMatchObject({ message: expect.stringMatching(/expired/), extensions: { code: 'UNAUTHENTICATED' } });
    // 100 KB of header: the HTTP server refuses it before GraphQL; still no 5xx, and it keeps serving.
    const oversized = await query('{ hello }', { Authorization: `Bearer ${'a'.repeat(100_000)}` }).catch((error: Error) => error);
    if (!(oversized instanceof Error)) expect(oversized.status).toBe(431);
    expect((await query('{ hello }')).body).toEqual({ data: { hello: 'world' } });
  });

  it('refuses a GraphQL request carrying Permanent-Token with BAD_REQUEST, guarded or not', async () => {
    const alice = await login(t, ALICE);
    for (const text of ['{ hello }', '{ me { deviceId } }']) {
      const response = await query(text, { Authorization: `Bearer ${alice.token}`, 'Permanent-Token': alice.permanent_token });
      expect(response.status).toBeLessThan(500);
      expect(response.body.errors).toEqual([
        expect.objectContaining({ message: expect.stringMatching(/Permanent-Token/), extensions: expect.objectContaining({ code: 'BAD_REQUEST' }) }),
      ]);
    }
  });

  it("AuthGuard('jwt-devices') works on a resolver without a subclass, and refuses with UNAUTHENTICATED", async () => {
    const alice = await login(t, ALICE);
    const answered = await query('{ passport { deviceId username } }', { Authorization: `Bearer ${alice.token}` });
    expect(answered.body).toEqual({ data: { passport: { deviceId: alice.device_id, username: 'alice' } } });
    for (const headers of [{}, { Authorization: 'Bearer not.a.jwt' }] as Record<string, string>[]) {
      const refused = await query('{ passport { deviceId } }', headers);
      expect(refused.status).toBeLessThan(500);
      expect(refused.body.data).toBeNull();
      expect(refused.body.errors.map((error: { extensions: { code: string } }) => error.extensions.code)).toEqual(['UNAUTHENTICATED']);
    }
  });

  it("a resolver and a ws gateway in one app: DELETE /devices/:id/ closes the device's socket within 500 ms, under load", async () => {
    const took: number[] = [];
    for (let round = 0; round < 5; round++) {
      const alice = await login(t, ALICE);
      const other = await login(t, ALICE);
      const socket = await connect('ws', t.url, { headers: { Authorization: `Bearer ${alice.token}` } });
      open.push(socket);
      expect((await socket.request('whoami')).data.device.id).toBe(alice.device_id);
      expect((await query('{ me { deviceId } }', { Authorization: `Bearer ${alice.token}` })).body.data.me.deviceId).toBe(alice.device_id);
      // Under load: a burst of guarded queries and logins in flight while the device is deleted.
      const load = Array.from({ length: 40 }, (_, i) =>
        i % 10 === 0 ? login(t, ALICE) : query('{ me { deviceId } }', { Authorization: `Bearer ${other.token}` }),
      );
      const started = performance.now();
      await t.http.delete(`/devices/${alice.device_id}/`).set('Authorization', `Bearer ${other.token}`).expect(204);
      const closed = await socket.closed;
      await Promise.all(load);
      expect(closed.code).toBe(JWT_DEVICES_CLOSE_CODES.deviceRevoked);
      took.push(closed.at - started);
      expect((await query('{ me { deviceId } }', { Authorization: `Bearer ${alice.token}` })).body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
    }
    console.info(`[graphql] ws socket closed after DELETE /devices/:id/ on ${adapter}: median ${median(took).toFixed(1)} ms, max ${Math.max(...took).toFixed(1)} ms`);
    expect(Math.max(...took)).toBeLessThan(500);
  });
});
