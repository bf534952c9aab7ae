/**
 * The module's routes as OpenAPI 3 paths. The module does not depend on `@nestjs/swagger`: Swagger's
 * scanner sees its routes but knows nothing of their headers and bodies, so call
 * {@link addJwtDevicesToOpenApi} on the document it generated to replace those bare entries.
 */

/** The part of an OpenAPI 3 document this file writes to (what `SwaggerModule.createDocument` returns). */
export interface OpenApiDocumentLike {
  paths: Record<string, Record<string, unknown>>;
  components?: { schemas?: Record<string, unknown>; securitySchemes?: Record<string, unknown>; [key: string]: unknown };
  [key: string]: unknown;
}

/** Options of {@link addJwtDevicesToOpenApi}; give the same `path` as to `JwtDevicesModule`. */
export interface JwtDevicesOpenApiOptions {
  /** The module's route prefix (the `path` extra). @default '' */
  path?: string;
  /** Document `permanent_token` in refresh answers (`permanentTokenRotation: true`). @default false */
  rotation?: boolean;
  /** Name of the security scheme added for the device JWT. @default 'jwtDevices' */
  securityScheme?: string;
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: unknown) => ({ 'application/json': { schema } });
const error = (description: string) => ({ description, content: json(ref('JwtDevicesError')) });
const header = (name: string, description: string, required: boolean, schema: unknown = { type: 'string' }) => ({
  name,
  in: 'header',
  required,
  description,
  schema,
});

/**
 * Adds the module's routes, schemas and JWT security scheme to an OpenAPI document, replacing the bare
 * entries Swagger generated for them. Paths are written with their trailing slash, as drf-jwt-devices
 * clients call them (both forms are served).
 *
 * @example
 * ```ts
 * const document = addJwtDevicesToOpenApi(SwaggerModule.createDocument(app, new DocumentBuilder().build()));
 * SwaggerModule.setup('docs', app, document);
 * ```
 */
export function addJwtDevicesToOpenApi<T extends OpenApiDocumentLike>(document: T, options: JwtDevicesOpenApiOptions = {}): T {
  const prefix = options.path ? `/${options.path.replace(/^\/+|\/+$/g, '')}` : '';
  const scheme = options.securityScheme ?? 'jwtDevices';
  const security = [{ [scheme]: [] }];
  const tags = ['devices'];
  const unauthorized = error('No JWT, or a malformed, forged, expired or revoked one (its device was logged out or expired).');
  const permanentTokenRefused = 'A `Permanent-Token` header is refused (400) here: send it to the refresh route only.';
  const deviceId = { name: 'id', in: 'path', required: true, schema: { type: 'integer', minimum: 1 } };

  const paths: Record<string, Record<string, unknown>> = {
    '/auth-token/': {
      post: {
        tags,
        operationId: 'jwtDevicesLogin',
        summary: 'Log in: creates a device and returns a short JWT and the device’s permanent token.',
        description: permanentTokenRefused,
        parameters: [
          header('X-Device-Model', 'Names the new device; the User-Agent then becomes its details.', false),
          header('User-Agent', 'Names the device when no X-Device-Model is sent.', false),
        ],
        requestBody: { required: true, content: json(ref('JwtDevicesLoginRequest')) },
        responses: {
          200: { description: 'Logged in. Plain `{token}` when permanentTokenAuth is off.', content: json(ref('JwtDevicesLoginResponse')) },
          400: error('Missing or wrong credentials, or a malformed body. No device is created.'),
          409: error('Newer parallel logins of this user pushed this device out at once (devicesPerUser). Log in again.'),
          415: error('The body is not JSON (form bodies are refused unless the app allows them).'),
        },
      },
    },
    '/device-refresh-token/': {
      post: {
        tags,
        operationId: 'jwtDevicesRefresh',
        summary: 'Trade the permanent token for a fresh JWT' + (options.rotation ? ' and a new permanent token.' : '.'),
        parameters: [header('Permanent-Token', 'The permanent token from login (or from the last rotation).', true)],
        responses: {
          200: { description: 'A fresh JWT.', content: json(ref('JwtDevicesRefreshResponse')) },
          400: error('Permanent-Token missing, unknown, expired (the device is deleted) or reused after rotation (the device is revoked).'),
        },
      },
    },
    '/device-logout/': {
      delete: {
        tags,
        security,
        operationId: 'jwtDevicesLogout',
        summary: 'Log out one of the caller’s devices: its permanent token and JWTs stop working at once.',
        description: permanentTokenRefused,
        parameters: [header('Device-Id', 'The device to log out.', true, { type: 'integer', minimum: 1 })],
        responses: {
          204: { description: 'Logged out.' },
          400: error('Device-Id missing or not a positive integer.'),
          401: unauthorized,
          404: error('No such device of this user.'),
        },
      },
    },
    '/devices/': {
      get: {
        tags,
        security,
        operationId: 'jwtDevicesList',
        summary: 'The caller’s devices, oldest first; the calling one has `current: true`.',
        description: permanentTokenRefused,
        responses: {
          200: { description: 'The devices.', content: json({ type: 'array', items: ref('JwtDevicesDevice') }) },
          401: unauthorized,
        },
      },
      delete: {
        tags,
        security,
        operationId: 'jwtDevicesSignOutAll',
        summary: 'Sign out every device of the caller, this one included.',
        description: permanentTokenRefused,
        responses: { 204: { description: 'Signed out.' }, 401: unauthorized },
      },
    },
    '/devices/others/': {
      delete: {
        tags,
        security,
        operationId: 'jwtDevicesSignOutOthers',
        summary: 'Sign out every device of the caller but this one.',
        description: permanentTokenRefused,
        responses: { 204: { description: 'Signed out.' }, 401: unauthorized },
      },
    },
    '/devices/{id}/': {
      patch: {
        tags,
        security,
        operationId: 'jwtDevicesRename',
        summary: 'Rename one of the caller’s devices.',
        description: permanentTokenRefused,
        parameters: [deviceId],
        requestBody: { required: true, content: json(ref('JwtDevicesRenameRequest')) },
        responses: {
          200: { description: 'The renamed device.', content: json(ref('JwtDevicesDevice')) },
          400: error('Id not a positive integer, or name empty or over 255 characters.'),
          401: unauthorized,
          404: error('No such device of this user.'),
        },
      },
      delete: {
        tags,
        security,
        operationId: 'jwtDevicesDelete',
        summary: 'Log out one of the caller’s devices by id.',
        description: permanentTokenRefused,
        parameters: [deviceId],
        responses: {
          204: { description: 'Logged out.' },
          400: error('Id not a positive integer.'),
          401: unauthorized,
          404: error('No such device of this user.'),
        },
      },
    },
  };

  for (const [path, item] of Object.entries(paths)) {
    const full = prefix + path;
    // Swagger's own entries for these routes, written without the trailing slash and with `:id` as `{id}`.
    delete document.paths[full.slice(0, -1)];
    document.paths[full] = item;
  }

  const refreshProperties: Record<string, unknown> = { token: { type: 'string', description: 'A short JWT.' } };
  if (options.rotation) refreshProperties.permanent_token = { type: 'string', description: 'The new permanent token; the old one is retired.' };
  document.components = {
    ...document.components,
    securitySchemes: {
      ...document.components?.securitySchemes,
      [scheme]: {
        type: 'http',
        scheme: 'bearer',
        bearerFormat: 'JWT',
        description: 'A device JWT, sent as `Authorization: Bearer <jwt>` (or `Authorization: JWT <jwt>`, as drf-jwt-devices clients do).',
      },
    },
    schemas: {
      ...document.components?.schemas,
      JwtDevicesLoginRequest: {
        type: 'object',
        required: ['username', 'password'],
        properties: { username: { type: 'string', maxLength: 4096 }, password: { type: 'string', maxLength: 4096, format: 'password' } },
      },
      JwtDevicesLoginResponse: {
        type: 'object',
        required: ['token'],
        properties: {
          token: { type: 'string', description: 'A short JWT.' },
          permanent_token: { type: 'string', description: 'Keep it secret; send it only to the refresh route.' },
          device_id: { type: 'integer' },
        },
      },
      JwtDevicesRefreshResponse: { type: 'object', required: Object.keys(refreshProperties), properties: refreshProperties },
      JwtDevicesDevice: {
        type: 'object',
        required: ['id', 'created', 'name', 'details', 'last_request_datetime', 'current'],
        properties: {
          id: { type: 'integer' },
          created: { type: 'string', format: 'date-time' },
          name: { type: 'string', maxLength: 255 },
          details: { type: 'string', maxLength: 255 },
          last_request_datetime: { type: 'string', format: 'date-time' },
          current: { type: 'boolean', description: 'The device that made this request.' },
        },
      },
      JwtDevicesRenameRequest: { type: 'object', required: ['name'], properties: { name: { type: 'string', minLength: 1, maxLength: 255 } } },
      JwtDevicesError: {
        type: 'object',
        required: ['statusCode', 'message'],
        properties: { statusCode: { type: 'integer' }, message: { type: 'string' }, error: { type: 'string' } },
      },
    },
  };
  return document;
}
