import type { ExecutionContext } from '@nestjs/common';
import { describe, expect, it } from 'vitest';
import { attachUpgradeRequest, guardedRequest, readableRequest, socketOf, transportRequest } from './transport-request.js';

/** Just what `transportRequest` reads of an `ExecutionContext`. */
function contextOf(type: string, args: unknown[]): ExecutionContext {
  return {
    getType: () => type,
    getArgs: () => args,
    switchToHttp: () => ({ getRequest: () => args[0] }),
    switchToWs: () => ({ getClient: () => args[0] }),
  } as unknown as ExecutionContext;
}

describe('transportRequest', () => {
  it('reads the HTTP request, and the request of a GraphQL context (Apollo, Mercurius)', () => {
    const request = { headers: { authorization: 'Bearer x' } };
    expect(transportRequest(contextOf('http', [request]))).toBe(request);
    expect(transportRequest(contextOf('graphql', [undefined, {}, { req: request }, {}]))).toBe(request);
    expect(transportRequest(contextOf('graphql', [{}, {}, { reply: { request } }, {}]))).toBe(request);
    expect(transportRequest(contextOf('graphql', [{}, {}, {}, {}]))).toBeUndefined();
    expect(transportRequest(contextOf('graphql', [{}, {}, undefined, {}]))).toBeUndefined();
    expect(transportRequest(contextOf('rpc', [request]))).toBeUndefined();
  });

  it('guards refuse a GraphQL subscription (it would outlive revocation) and a context without a request, but read queries', () => {
    const request = { headers: {} };
    const info = (operation: string) => ({ operation: { operation } });
    expect(guardedRequest(contextOf('graphql', [undefined, {}, { req: request }, info('query')]))).toBe(request);
    expect(guardedRequest(contextOf('graphql', [undefined, {}, { req: request }, info('mutation')]))).toBe(request);
    expect(() => guardedRequest(contextOf('graphql', [undefined, {}, { req: request }, info('subscription')]))).toThrow(/subscriptions/);
    expect(() => guardedRequest(contextOf('graphql', [undefined, {}, {}, info('query')]))).toThrow(/keep `req`/);
    // transportRequest itself still reads it: the global PermittedHeadersGuard checks subscriptions' headers too.
    expect(transportRequest(contextOf('graphql', [undefined, {}, { req: request }, info('subscription')]))).toBe(request);
  });

  it("gives a socket.io socket one stand-in request, where auth.token wins over the Authorization header", () => {
    const socket = { handshake: { headers: { authorization: 'Bearer header', 'user-agent': 'ua' }, auth: { token: 'from-auth' } } };
    const request = transportRequest(contextOf('ws', [socket]))!;
    expect(request.headers).toEqual({ authorization: 'Bearer from-auth', 'user-agent': 'ua' });
    expect(transportRequest(contextOf('ws', [socket]))).toBe(request);
    expect(socketOf(request)).toBe(socket);
    expect(socket.handshake.headers.authorization).toBe('Bearer header'); // the handshake itself is untouched
    const prefixed = { handshake: { headers: {}, auth: { token: 'JWT abc' } } };
    expect(readableRequest(prefixed)!.headers.authorization).toBe('JWT abc');
    const hostile = { handshake: { headers: {}, auth: { token: { toString: () => 'x' } } } };
    expect(readableRequest(hostile)!.headers.authorization).toBeUndefined();
  });

  it('reads a ws client only after attachUpgradeRequest, and never an HTTP request as a socket', () => {
    const client = { readyState: 1 };
    expect(transportRequest(contextOf('ws', [client]))).toBeUndefined();
    attachUpgradeRequest(client, { headers: { authorization: 'Bearer y' } });
    expect(transportRequest(contextOf('ws', [client]))!.headers).toEqual({ authorization: 'Bearer y' });
    const http = { headers: {}, socket: {} };
    expect(readableRequest(http)).toBe(http);
    expect(socketOf(http)).toBeUndefined();
    expect(readableRequest(undefined)).toBeUndefined();
    expect(readableRequest('nonsense')).toBeUndefined();
  });
});
