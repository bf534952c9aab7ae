import { BadRequestException, ForbiddenException } from '@nestjs/common';
import type { HttpAdapterHost } from '@nestjs/core';
import { describe, expect, it } from 'vitest';
import type { ResolvedJwtDevicesOptions } from '../jwt-devices.options.js';
import { resolveJwtDevicesOptions } from '../jwt-devices.options-resolver.js';
import type { RequestHeaders } from '../sessions/device-names.js';
import { CookieTransport, crossSiteRefusal } from './cookie-transport.js';
import { JwtDevicesRoutes } from './jwt-devices.routes.js';

const NONE: ReadonlySet<string> = new Set();
const SPA: ReadonlySet<string> = new Set(['https://spa.example.com']);
const refusal = (headers: Record<string, unknown>, trusted = NONE) => crossSiteRefusal(headers as RequestHeaders, trusted);

describe('crossSiteRefusal', () => {
  it('lets through requests with neither Sec-Fetch-Site nor Origin (no browser, so no CSRF)', () => {
    expect(refusal({})).toBeUndefined();
    expect(refusal({ host: 'app.example' })).toBeUndefined();
    expect(crossSiteRefusal(undefined, NONE)).toBeUndefined();
  });

  it.each(['same-origin', 'none'])('accepts Sec-Fetch-Site: %s without Origin', (site) => {
    expect(refusal({ 'sec-fetch-site': site, host: 'app.example' })).toBeUndefined();
  });

  it.each(['cross-site', 'same-site', 'Same-Origin', 'SAME-ORIGIN', '', 'same-origin '])(
    'refuses Sec-Fetch-Site: %j',
    (site) => {
      expect(refusal({ 'sec-fetch-site': site, host: 'app.example' })).toMatch(/Cross-site/);
    },
  );

  it.each([
    ['app.example', 'https://app.example'],
    ['app.example', 'http://app.example'],
    ['APP.example', 'https://app.example'],
    ['app.example:443', 'https://app.example'],
    ['app.example:80', 'http://app.example'],
    ['app.example:8080', 'http://app.example:8080'],
    ['127.0.0.1:3000', 'http://127.0.0.1:3000'],
    ['[::1]:3000', 'http://[::1]:3000'],
  ])('accepts Origin equal to Host (%s, %s)', (host, origin) => {
    expect(refusal({ host, origin })).toBeUndefined();
    expect(refusal({ host, origin, 'sec-fetch-site': 'same-origin' })).toBeUndefined();
  });

  it.each([
    ['app.example', 'https://evil.example'],
    ['app.example', 'https://app.example:8443'],
    ['app.example:8080', 'http://app.example'],
    ['app.example', 'https://sub.app.example'],
    ['app.example', 'https://app.example.evil.example'],
    ['app.example', 'null'],
    ['app.example', ''],
    ['app.example', 'file://app.example'],
    ['app.example', 'ftp://app.example'],
    ['app.example', 'javascript:alert(1)'],
    ['app.example, app.example', 'https://app.example'],
    ['app.example/path', 'https://app.example'],
    ['app.example@evil.example', 'https://evil.example'],
    ['', 'https://app.example'],
  ])('refuses Origin that is not the Host (host %j, origin %j)', (host, origin) => {
    expect(refusal({ host, origin })).toMatch(/other origins/);
  });

  it('refuses an Origin when there is no Host', () => {
    expect(refusal({ origin: 'https://app.example' })).toMatch(/other origins/);
  });

  it('refuses Sec-Fetch-Site: same-origin with a foreign Origin', () => {
    expect(refusal({ host: 'app.example', origin: 'https://evil.example', 'sec-fetch-site': 'same-origin' })).toMatch(/other origins/);
  });

  it('refuses repeated Sec-Fetch-Site or Origin as Node joins them ("a, b"), even with a trusted Origin', () => {
    expect(refusal({ host: 'api.example.com', origin: 'https://spa.example.com', 'sec-fetch-site': 'same-site, same-site' }, SPA)).toMatch(/at most once/);
    expect(refusal({ host: 'api.example.com', origin: 'https://spa.example.com, https://spa.example.com' }, SPA)).toMatch(/at most once/);
    expect(refusal({ host: 'app.example', origin: 'https://app.example', 'sec-fetch-site': 'same-origin,same-origin' })).toMatch(/at most once/);
  });

  it('refuses repeated headers (arrays) of Sec-Fetch-Site, Origin or Host', () => {
    expect(refusal({ 'sec-fetch-site': ['same-origin', 'same-origin'] })).toMatch(/at most once/);
    expect(refusal({ origin: ['https://app.example'], host: 'app.example' })).toMatch(/at most once/);
    expect(refusal({ origin: 'https://app.example', host: ['app.example', 'app.example'] })).toMatch(/other origins/);
  });

  it('accepts a trusted origin whatever Sec-Fetch-Site says, and only that exact origin', () => {
    expect(refusal({ host: 'api.example.com', origin: 'https://spa.example.com', 'sec-fetch-site': 'cross-site' }, SPA)).toBeUndefined();
    expect(refusal({ host: 'api.example.com', origin: 'https://spa.example.com', 'sec-fetch-site': 'same-site' }, SPA)).toBeUndefined();
    for (const origin of ['http://spa.example.com', 'https://spa.example.com:8443', 'https://spa.example.com/', 'https://SPA.example.com', 'https://x.spa.example.com']) {
      expect({ origin, refusal: refusal({ host: 'api.example.com', origin, 'sec-fetch-site': 'same-site' }, SPA) }).toEqual({ origin, refusal: expect.any(String) });
    }
  });

  it('a trusted origin does not excuse Sec-Fetch-Site on a request without Origin', () => {
    expect(refusal({ host: 'api.example.com', 'sec-fetch-site': 'same-site' }, SPA)).toMatch(/Cross-site/);
  });

  it('over HTTP/2 (no Host header, only :authority) compares the Origin with :authority', () => {
    // Node's HTTP/2 compatibility layer (Fastify with http2: true) gives no `host` header.
    expect(refusal({ ':authority': 'app.example', origin: 'https://app.example', 'sec-fetch-site': 'same-origin' })).toBeUndefined();
    expect(refusal({ ':authority': 'app.example', origin: 'https://evil.example' })).toMatch(/other origins/);
  });
});

/** A CookieTransport on fake adapter and routes, recording the Set-Cookie lines it writes. */
function transport(cookieTransport: unknown = true, extra: Record<string, unknown> = {}, prefix = '', path = '') {
  const options: ResolvedJwtDevicesOptions = resolveJwtDevicesOptions({
    jwtSecret: 'a-server-secret-of-at-least-32-chars!',
    users: { findUser: () => undefined },
    cookieTransport,
    ...extra,
  } as never);
  const written: { name: string; value: string }[] = [];
  const record = (_response: object, name: string, value: string) => void written.push({ name, value });
  const adapterHost = { httpAdapter: { setHeader: record, appendHeader: record } } as unknown as HttpAdapterHost;
  const routes = new JwtDevicesRoutes(path, { getGlobalPrefix: () => prefix } as never);
  return { cookies: new CookieTransport(options, routes, adapterHost), written };
}

describe('CookieTransport.read', () => {
  const NAME = '__Secure-jwt-devices-permanent';
  const { cookies } = transport();
  const read = (cookie: unknown) => cookies.read({ cookie } as RequestHeaders);

  it('reads the one cookie of its name, among others', () => {
    expect(read(`${NAME}=abc.DEF_-9`)).toBe('abc.DEF_-9');
    expect(read(`a=1; ${NAME}=abc;b=2`)).toBe('abc');
    expect(read(`a=1;${NAME}=abc`)).toBe('abc');
  });

  it.each([
    ['no Cookie header', undefined],
    ['other cookies only', 'a=1; b=2'],
    ['twice, same value', `${NAME}=abc; ${NAME}=abc`],
    ['twice, different values', `${NAME}=abc; ${NAME}=def`],
    ['twice, one empty', `${NAME}=; ${NAME}=abc`],
    ['empty', `${NAME}=`],
    ['quoted', `${NAME}="abc"`],
    ['with a space', `${NAME}=a b`],
    ['with =', `${NAME}=a=b`],
    ['percent-encoded', `${NAME}=a%20b`],
    ['201 characters', `${NAME}=${'a'.repeat(201)}`],
    ['non-ASCII', `${NAME}=café`],
    ['a longer name', `${NAME}x=abc`],
    ['a name with a prefix', `x${NAME}=abc`],
    ['another case', `${NAME.toLowerCase()}=abc`],
    ['spaces around =', `${NAME} = abc`],
    ['inside another cookie', `a=${NAME}=abc`],
    ['an array (repeated header)', [`${NAME}=abc`]],
  ])('gives undefined for %s', (_label, cookie) => {
    expect(read(cookie)).toBeUndefined();
  });

  it('accepts 200 characters', () => {
    expect(read(`${NAME}=${'a'.repeat(200)}`)).toBe('a'.repeat(200));
  });

  it('reads nothing when the transport is off', () => {
    expect(transport(false).cookies.read({ cookie: `${NAME}=abc; jwt-devices-permanent=abc` } as RequestHeaders)).toBeUndefined();
  });

  it('reads a custom name only', () => {
    const custom = transport({ name: 'rt' }).cookies;
    expect(custom.read({ cookie: 'rt=abc' } as RequestHeaders)).toBe('abc');
    expect(custom.read({ cookie: `${NAME}=abc` } as RequestHeaders)).toBeUndefined();
  });
});

describe('CookieTransport.requested', () => {
  const { cookies } = transport({ trustedOrigins: ['https://spa.example.com'] });

  it('is false without the marker, whatever else is sent', () => {
    expect(cookies.requested({})).toBe(false);
    expect(cookies.requested(undefined)).toBe(false);
    expect(cookies.requested({ 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' } as RequestHeaders)).toBe(false);
  });

  it('is true for "cookie" in any case, from the app’s own origin or a trusted one', () => {
    expect(cookies.requested({ 'permanent-token-transport': 'cookie' } as RequestHeaders)).toBe(true);
    expect(cookies.requested({ 'permanent-token-transport': 'COOKIE', host: 'a.example', origin: 'https://a.example' } as RequestHeaders)).toBe(true);
    expect(cookies.requested({ 'permanent-token-transport': 'cookie', host: 'a.example', origin: 'https://spa.example.com', 'sec-fetch-site': 'cross-site' } as RequestHeaders)).toBe(true);
  });

  it.each([['header'], [''], [['cookie', 'cookie']], ['cookie, cookie']])('throws 400 for the marker %j', (marker) => {
    expect(() => cookies.requested({ 'permanent-token-transport': marker } as RequestHeaders)).toThrow(BadRequestException);
  });

  it('throws 400 when the transport is off', () => {
    expect(() => transport(false).cookies.requested({ 'permanent-token-transport': 'cookie' } as RequestHeaders)).toThrow(/cookieTransport is off/);
  });

  it('throws 403 for a cross-site request', () => {
    expect(() => cookies.requested({ 'permanent-token-transport': 'cookie', 'sec-fetch-site': 'cross-site' } as RequestHeaders)).toThrow(ForbiddenException);
    expect(() => cookies.requested({ 'permanent-token-transport': 'cookie', host: 'a.example', origin: 'null' } as RequestHeaders)).toThrow(ForbiddenException);
  });
});

describe('CookieTransport.set and clear', () => {
  it('writes HttpOnly, SameSite, Secure, the refresh path without its slash, and Max-Age in seconds', () => {
    const { cookies, written } = transport(true, { permanentTokenExpiration: '2h', permanentTokenExpirationAccuracy: '1m' });
    cookies.set({}, 'tok');
    cookies.clear({});
    expect(written).toEqual([
      { name: 'Set-Cookie', value: '__Secure-jwt-devices-permanent=tok; Path=/device-refresh-token; Max-Age=7200; HttpOnly; SameSite=Strict; Secure' },
      { name: 'Set-Cookie', value: '__Secure-jwt-devices-permanent=; Path=/device-refresh-token; Max-Age=0; HttpOnly; SameSite=Strict; Secure' },
    ]);
  });

  it('follows the global prefix and the path extra; lax and insecure when asked; Max-Age capped by permanentTokenMaxAge', () => {
    const { cookies, written } = transport({ secure: false, sameSite: 'lax' }, { permanentTokenMaxAge: '1h' }, '/api/', 'auth');
    cookies.set({}, 'tok');
    expect(written).toEqual([{ name: 'Set-Cookie', value: 'jwt-devices-permanent=tok; Path=/api/auth/device-refresh-token; Max-Age=3600; HttpOnly; SameSite=Lax' }]);
  });
});
