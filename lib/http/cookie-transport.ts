import { BadRequestException, ForbiddenException, Inject, Injectable } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { JWT_DEVICES_OPTIONS, TOKEN_TRANSPORT_HEADER } from '../jwt-devices.constants.js';
import type { ResolvedCookieOptions, ResolvedJwtDevicesOptions } from '../jwt-devices.options.js';
import type { RequestHeaders } from '../sessions/device-names.js';
import { JwtDevicesRoutes } from './jwt-devices.routes.js';
import { singleHeader } from './request-input.js';

/** A permanent token as the module issues it (`<lineage>.<secret>`, base64url) or an older one; never longer. */
const COOKIE_VALUE = /^[A-Za-z0-9_.-]{1,200}$/;

/**
 * The permanent token of browser clients, kept in an `HttpOnly` cookie that page scripts cannot read
 * (the `cookieTransport` option). A client asks for it per request with `Permanent-Token-Transport: cookie`.
 *
 * The cookie is scoped by `Path` to the refresh route, so the browser sends it nowhere else. A request
 * that would use it must carry that header, which a cross-site form cannot send and a cross-site
 * `fetch` cannot send without the app's CORS consent; on top, `Sec-Fetch-Site` and `Origin` must say
 * the request comes from the app's own origin (or a trusted one). Refusals are 403 and change nothing.
 */
@Injectable()
export class CookieTransport {
  private readonly cookie: ResolvedCookieOptions | null;
  private readonly maxAge: number;

  constructor(
    @Inject(JWT_DEVICES_OPTIONS) options: ResolvedJwtDevicesOptions,
    private readonly routes: JwtDevicesRoutes,
    private readonly adapterHost: HttpAdapterHost,
  ) {
    this.cookie = options.cookieTransport;
    this.maxAge = Math.floor(Math.min(options.permanentTokenExpiration, options.permanentTokenMaxAge ?? Infinity) / 1000);
  }

  /**
   * Whether the request asks for the cookie transport. When it does, checks that it comes from the
   * app's own origin or a trusted one.
   * @throws BadRequestException when the app has not turned the cookie transport on (the token would
   *   otherwise land in the body, readable by the page's scripts); ForbiddenException for a cross-site request.
   */
  requested(headers: RequestHeaders | undefined): boolean {
    const marker = headers?.[TOKEN_TRANSPORT_HEADER];
    if (marker === undefined) return false;
    if (typeof marker !== 'string' || marker.toLowerCase() !== 'cookie') {
      throw new BadRequestException('Permanent-Token-Transport must be "cookie" when sent.');
    }
    if (!this.cookie) {
      throw new BadRequestException('This server does not keep permanent tokens in cookies (cookieTransport is off); omit Permanent-Token-Transport.');
    }
    const refusal = crossSiteRefusal(headers, this.cookie.trustedOrigins);
    if (refusal) throw new ForbiddenException(refusal);
    return true;
  }

  /** The permanent token in the request's cookie; `undefined` when absent, malformed or sent twice. */
  read(headers: RequestHeaders | undefined): string | undefined {
    const name = this.cookie?.name;
    const header = singleHeader(headers, 'cookie');
    if (name === undefined || header === undefined) return undefined;
    const values = header
      .split(';')
      .map((pair) => pair.trim())
      .filter((pair) => pair.startsWith(`${name}=`))
      .map((pair) => pair.slice(name.length + 1));
    // Two cookies of this name (one planted by a sibling subdomain, say): trust neither.
    return values.length === 1 && COOKIE_VALUE.test(values[0]!) ? values[0] : undefined;
  }

  /** Sets the cookie to `permanentToken`, with an expiry that follows the device's. */
  set(response: object, permanentToken: string): void {
    this.write(response, permanentToken, this.maxAge);
  }

  /** Tells the browser to drop the cookie. */
  clear(response: object): void {
    this.write(response, '', 0);
  }

  private write(response: object, value: string, maxAge: number): void {
    const cookie = this.cookie!;
    const path = this.routes.url('device-refresh-token').replace(/\/$/, '');
    const attributes = [`${cookie.name}=${value}`, `Path=${path}`, `Max-Age=${maxAge}`, 'HttpOnly', `SameSite=${cookie.sameSite}`];
    if (cookie.secure) attributes.push('Secure');
    // Appended: a cookie the app set earlier in this request (a middleware's, an interceptor's) must survive.
    this.adapterHost.httpAdapter.appendHeader(response, 'Set-Cookie', attributes.join('; '));
  }
}

/**
 * Why a cookie request is not the app's own, or `undefined` when it is: `Sec-Fetch-Site` (sent by every
 * current browser) must be `same-origin` or `none` (typed in, bookmarked); otherwise, or when a browser
 * sends only `Origin`, the origin must be the request's own (scheme ignored: TLS may end at a proxy) or
 * a trusted one. A request with neither header is no browser's, so no CSRF.
 */
export function crossSiteRefusal(headers: RequestHeaders | undefined, trustedOrigins: ReadonlySet<string>): string | undefined {
  const site = headers?.['sec-fetch-site'];
  const origin = headers?.['origin'];
  // Node joins a repeated header into one "a, b" string; no valid value of either holds a comma.
  if ((site !== undefined && (typeof site !== 'string' || site.includes(','))) || (origin !== undefined && (typeof origin !== 'string' || origin.includes(',')))) {
    return 'Send Sec-Fetch-Site and Origin at most once.';
  }
  if (origin !== undefined && trustedOrigins.has(origin)) return undefined;
  if (site !== undefined && site !== 'same-origin' && site !== 'none') {
    return 'Cross-site requests may not use the permanent-token cookie.';
  }
  // HTTP/2 requests carry their authority in `:authority`; Node's HTTP/2 layer (Fastify's `http2: true`) gives no `host`.
  if (origin !== undefined && !sameHost(origin, singleHeader(headers, 'host') ?? singleHeader(headers, ':authority'))) {
    return 'Requests from other origins may not use the permanent-token cookie.';
  }
  return undefined;
}

function sameHost(origin: string, host: string | undefined): boolean {
  if (host === undefined || !/^[A-Za-z0-9.:[\]-]{1,300}$/.test(host)) return false;
  try {
    const url = new URL(origin);
    // Parsed with the origin's scheme, so a default port written out (`:443`) compares equal.
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.host === new URL(`${url.protocol}//${host}`).host;
  } catch {
    return false;
  }
}
