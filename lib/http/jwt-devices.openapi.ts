import { withCookieTransport } from './jwt-devices.openapi-cookies.js';
import { COOKIE_REFRESH_SCHEMA, error, header, json, jwtDevicesComponents, type Operation, schemaRef } from './jwt-devices.openapi-schemas.js';

/**
 * The module's routes as OpenAPI 3 paths. The module does not depend on `@nestjs/swagger`: Swagger's
 * scanner sees its routes (at their real paths, global prefix and `path` included) but knows nothing of
 * their headers, bodies and answers, so {@link addJwtDevicesToOpenApi} finds those entries in the
 * document Swagger generated and replaces them with full ones.
 */

/** What `SwaggerModule.createDocument` returns, as far as this file needs it (an `OpenAPIObject` fits). */
export interface OpenApiDocumentLike {
  paths: object;
  components?: object;
}

/** Options of {@link addJwtDevicesToOpenApi}. */
export interface JwtDevicesOpenApiOptions {
  /**
   * Where the module's routes are, when the document has no entries of them to find them by (e.g. a
   * document not made by Swagger's scanner): the global prefix and the `path` extra, joined.
   * @default found in the document
   */
  path?: string;
  /** Document `permanent_token` in refresh answers (`permanentTokenRotation: true`). @default false */
  rotation?: boolean;
  /** The `loginFields` extra, when the login body uses other names. @default { username: 'username', password: 'password' } */
  loginFields?: { username?: string; password?: string };
  /** Name of the security scheme added for the device JWT. @default 'jwtDevices' */
  securityScheme?: string;
  /**
   * The cookie's name, when the app turns the `cookieTransport` option on: documents the
   * `Permanent-Token-Transport` header, the cookie, `Set-Cookie`, the 403 of cross-site requests, and
   * refresh's `{token: null}` answer to a signed-out browser.
   * @default undefined (no cookie transport)
   */
  cookieName?: string;
}

const noStore = { 'Cache-Control': { description: 'Always `no-store`: answers of this route may hold tokens.', schema: { type: 'string' } } };
const deviceId = { name: 'id', in: 'path', required: true, schema: { type: 'integer', minimum: 1 } };

/** Answers every route can give, besides its own. */
const COMMON = {
  400: 'A `Permanent-Token` header on a route other than refresh (it is refused before anything else).',
  503: 'The device store or the app’s user store is unavailable; retry later.',
};

/**
 * Adds the module's routes, schemas and JWT security scheme to an OpenAPI document, replacing the bare
 * entries Swagger generated for them, wherever the app mounted them. Paths are written with their
 * trailing slash, as drf-jwt-devices clients call them (both forms are served).
 *
 * @example
 * ```ts
 * const document = addJwtDevicesToOpenApi(SwaggerModule.createDocument(app, new DocumentBuilder().build()));
 * SwaggerModule.setup('docs', app, document);
 * ```
 */
export function addJwtDevicesToOpenApi<T extends OpenApiDocumentLike>(document: T, options: JwtDevicesOpenApiOptions = {}): T {
  const scheme = options.securityScheme ?? 'jwtDevices';
  const operations = withCookieTransport(moduleOperations([{ [scheme]: [] }], Boolean(options.rotation)), options.cookieName);
  const paths = document.paths as Record<string, Record<string, unknown>>;
  const prefix = options.path !== undefined ? `/${options.path.replace(/^\/+|\/+$/g, '')}`.replace(/^\/$/, '') : findPrefix(paths, Object.keys(operations));
  for (const [route, item] of Object.entries(operations)) {
    const full = `${prefix}/${route}/`;
    // Swagger's own entries for these routes, written without the trailing slash.
    const bare = paths[full.slice(0, -1)];
    if (bare) for (const method of Object.keys(item)) delete bare[method];
    if (bare && Object.keys(bare).length === 0) delete paths[full.slice(0, -1)];
    paths[full] = { ...paths[full], ...item };
  }
  const components = (document.components ?? {}) as { schemas?: object; securitySchemes?: object };
  const ours = jwtDevicesComponents({ username: 'username', password: 'password', ...options.loginFields }, Boolean(options.rotation));
  (document as { components?: object }).components = {
    ...components,
    securitySchemes: { ...components.securitySchemes, [scheme]: ours.securityScheme },
    schemas: { ...components.schemas, ...ours.schemas, ...(options.cookieName !== undefined && { JwtDevicesCookieRefreshResponse: COOKIE_REFRESH_SCHEMA }) },
  };
  return document;
}

/**
 * The path prefix under which the document holds the module's routes: the one that the most of them
 * end in (an app route that happens to share a name does not outvote the module's eight).
 */
function findPrefix(paths: Record<string, unknown>, routes: string[]): string {
  const votes = new Map<string, number>();
  for (const path of Object.keys(paths)) {
    for (const route of routes) {
      const suffix = `/${route}`;
      for (const candidate of [suffix, `${suffix}/`]) {
        if (path.endsWith(candidate)) votes.set(path.slice(0, -candidate.length), (votes.get(path.slice(0, -candidate.length)) ?? 0) + 1);
      }
    }
  }
  return [...votes.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? '';
}

/** The full operations, keyed by route (relative, no slashes) and method. */
function moduleOperations(security: unknown[], rotation: boolean): Record<string, Record<string, Operation>> {
  const tags = ['devices'];
  const unauthorized = {
    ...error('No JWT, or a malformed, forged, expired or revoked one (its device was logged out or expired).'),
    headers: { 'WWW-Authenticate': { description: '`Bearer`, with `error="invalid_token"` when a token was sent.', schema: { type: 'string' } } },
  };
  const guarded = (operation: Operation & { responses: Record<number, unknown> }): Operation => ({
    tags,
    security,
    ...operation,
    responses: { 400: error(COMMON[400]), 401: unauthorized, 503: error(COMMON[503]), ...operation.responses },
  });
  const notFound = error('No such device of this user (another user’s devices are never touched).');
  const signedOut = { 204: { description: 'Signed out.' }, 404: error('The app issues plain JWTs: there are no devices.') };
  /** Login and refresh answer every status with `Cache-Control: no-store`. */
  const tokenRoute = (operation: Operation & { responses: Record<number, object> }): Operation => ({
    ...operation,
    responses: Object.fromEntries(Object.entries(operation.responses).map(([status, response]) => [status, { ...response, headers: noStore }])),
  });
  return {
    'auth-token': {
      post: tokenRoute({
        tags,
        security: [],
        operationId: 'jwtDevicesLogin',
        summary: 'Log in: creates a device and returns a short JWT and the device’s permanent token.',
        parameters: [
          header('X-Device-Model', 'Names the new device; the User-Agent then becomes its details.', false),
          header('User-Agent', 'Names the device when no X-Device-Model is sent.', false),
        ],
        requestBody: { required: true, content: json(schemaRef('JwtDevicesLoginRequest')) },
        responses: {
          200: { description: 'Logged in. Plain `{token}` when permanentTokenAuth is off.', content: json(schemaRef('JwtDevicesLoginResponse')) },
          400: error(`Missing or wrong credentials, or a malformed body; no device is created. Or: ${COMMON[400]}`),
          409: error(
            'No device was issued: newer parallel logins of this user pushed it out at once (devicesPerUser), or all devices of the user were revoked (e.g. a password change) while the credentials were being checked. Log in again.',
          ),
          415: error('The body is not JSON (form bodies are refused unless the app allows them), or its charset is not supported.'),
          503: error(COMMON[503]),
        },
      }),
    },
    'device-refresh-token': {
      post: tokenRoute({
        tags,
        security: [],
        operationId: 'jwtDevicesRefresh',
        summary: `Trade the permanent token for a fresh JWT${rotation ? ' and a new permanent token' : ''}.`,
        parameters: [header('Permanent-Token', 'The permanent token from login (or from the last rotation).', true)],
        responses: {
          200: { description: 'A fresh JWT.', content: json(schemaRef('JwtDevicesRefreshResponse')) },
          400: error('Permanent-Token missing, unknown, expired (the device is deleted) or reused after rotation (the device is revoked).'),
          415: error('A body was sent with a media type or charset the server does not parse (refresh takes no body).'),
          503: error(COMMON[503]),
        },
      }),
    },
    'device-logout': {
      delete: guarded({
        operationId: 'jwtDevicesLogout',
        summary: 'Log out one of the caller’s devices: its permanent token and JWTs stop working at once.',
        parameters: [header('Device-Id', 'The device to log out.', true, { type: 'integer', minimum: 1 })],
        responses: { 204: { description: 'Logged out.' }, 400: error(`Device-Id missing or not a positive integer. Or: ${COMMON[400]}`), 404: notFound },
      }),
    },
    devices: {
      get: guarded({
        operationId: 'jwtDevicesList',
        summary: 'The caller’s devices, oldest first, a page at a time (devicesPageSize, 100 by default); the calling one has `current: true`.',
        parameters: [
          {
            name: 'after',
            in: 'query',
            required: false,
            description: 'List the devices after this id: the next page, as the `Link` header of the previous one gives it.',
            schema: { type: 'integer', minimum: 0, maximum: 2_147_483_647 },
          },
        ],
        responses: {
          200: {
            description: 'One page of devices.',
            headers: {
              Link: {
                description: 'When more devices exist: `<…/devices/?after=<id>>; rel="next"` (RFC 8288), the URL of the next page.',
                schema: { type: 'string' },
              },
            },
            content: json({ type: 'array', items: schemaRef('JwtDevicesDevice') }),
          },
          400: error(`"after" is not 0 or a device id. Or: ${COMMON[400]}`),
        },
      }),
      delete: guarded({ operationId: 'jwtDevicesSignOutAll', summary: 'Sign out every device of the caller, this one included.', responses: signedOut }),
    },
    'devices/others': {
      delete: guarded({ operationId: 'jwtDevicesSignOutOthers', summary: 'Sign out every device of the caller but this one.', responses: signedOut }),
    },
    'devices/{id}': {
      patch: guarded({
        operationId: 'jwtDevicesRename',
        summary: 'Rename one of the caller’s devices.',
        parameters: [deviceId],
        requestBody: { required: true, content: json(schemaRef('JwtDevicesRenameRequest')) },
        responses: {
          200: { description: 'The renamed device.', content: json(schemaRef('JwtDevicesDevice')) },
          400: error(`Id not a positive integer, or name empty or over 255 characters. Or: ${COMMON[400]}`),
          404: notFound,
          415: error('The body is not JSON, or its charset is not supported.'),
        },
      }),
      delete: guarded({
        operationId: 'jwtDevicesDelete',
        summary: 'Log out one of the caller’s devices by id.',
        parameters: [deviceId],
        responses: { 204: { description: 'Logged out.' }, 400: error(`Id not a positive integer. Or: ${COMMON[400]}`), 404: notFound },
      }),
    },
  };
}
