/**
 * The OpenAPI components of the module's routes: request and response bodies, the error body and the
 * JWT security scheme. `jwt-devices.openapi.ts` adds them to the app's document.
 */

/** A `$ref` to one of the module's schemas. */
export const schemaRef = (name: string) => ({ $ref: `#/components/schemas/${name}` });

/** An OpenAPI operation object, as far as these files build it. */
export type Operation = Record<string, unknown>;

/** A JSON body of `schema`. */
export const json = (schema: unknown) => ({ 'application/json': { schema } });
/** An error answer: Nest's usual body. */
export const error = (description: string) => ({ description, content: json(schemaRef('JwtDevicesError')) });
/** A header parameter. */
export const header = (name: string, description: string, required: boolean, schema: unknown = { type: 'string' }) => ({ name, in: 'header', required, description, schema });

/** The schema of the refresh answer to a cookie client: `{token}`, or `{token: null}` when signed out (OpenAPI 3.0 `nullable`). */
export const COOKIE_REFRESH_SCHEMA = {
  type: 'object',
  required: ['token'],
  properties: {
    token: {
      type: 'string',
      nullable: true,
      description: 'A short JWT; `null` when the browser has no usable session (no cookie, or a refused one), which clears the cookie.',
    },
  },
};

/** The components to merge into the document, for the login field names and rotation in use. */
export function jwtDevicesComponents(loginFields: { username: string; password: string }, rotation: boolean) {
  const refresh: Record<string, unknown> = { token: { type: 'string', description: 'A short JWT.' } };
  if (rotation) refresh.permanent_token = { type: 'string', description: 'The new permanent token; the old one is retired.' };
  return {
    securityScheme: {
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'JWT',
      description: 'A device JWT, sent as `Authorization: Bearer <jwt>` (or `Authorization: JWT <jwt>`, as drf-jwt-devices clients do).',
    },
    schemas: {
      JwtDevicesLoginRequest: {
        type: 'object',
        required: [loginFields.username, loginFields.password],
        properties: {
          [loginFields.username]: { type: 'string', minLength: 1, maxLength: 4096 },
          [loginFields.password]: { type: 'string', minLength: 1, maxLength: 4096, format: 'password' },
        },
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
      JwtDevicesRefreshResponse: { type: 'object', required: Object.keys(refresh), properties: refresh },
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
        properties: {
          statusCode: { type: 'integer' },
          message: { oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] },
          error: { type: 'string' },
        },
      },
    },
  };
}
