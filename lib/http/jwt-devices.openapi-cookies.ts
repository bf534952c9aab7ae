import { error, header, json, type Operation, schemaRef } from './jwt-devices.openapi-schemas.js';

const TRANSPORT = header('Permanent-Token-Transport', 'Browsers: `cookie` keeps the permanent token in an HttpOnly cookie, never in the body.', false, {
  type: 'string',
  enum: ['cookie'],
});
const CROSS_SITE = error('A request that asks for the cookie transport came from another site or origin (CSRF defence); nothing changed.');
const SET_COOKIE = { description: 'With `Permanent-Token-Transport: cookie`: sets, renews or clears the permanent-token cookie.', schema: { type: 'string' } };

/**
 * The cookie transport's header, cookie, `Set-Cookie` and 403 on the routes it touches, and refresh's
 * `{token: null}` answer to a signed-out browser (`cookieName` given), for `addJwtDevicesToOpenApi`.
 */
export function withCookieTransport(operations: Record<string, Record<string, Operation>>, cookieName: string | undefined): Record<string, Record<string, Operation>> {
  if (cookieName === undefined) return operations;
  const touched = { 'auth-token': 'post', 'device-refresh-token': 'post', 'device-logout': 'delete', devices: 'delete', 'devices/{id}': 'delete' };
  for (const [route, method] of Object.entries(touched)) {
    const operation = operations[route]![method] as { parameters?: Array<{ name: string; required?: boolean }>; responses: Record<number, { headers?: object; description?: string }> };
    operation.parameters = [...(operation.parameters ?? []), TRANSPORT];
    operation.responses[403] = CROSS_SITE;
    for (const status of [200, 204, 400]) {
      const answer = operation.responses[status];
      if (answer) operation.responses[status] = { ...answer, headers: { ...answer.headers, 'Set-Cookie': SET_COOKIE } };
    }
  }
  type Answer = { description: string; content?: object; headers?: Record<string, unknown> };
  const refresh = operations['device-refresh-token']!.post as { parameters: Array<Record<string, unknown>>; responses: Record<number, Answer> };
  refresh.responses[200] = {
    ...refresh.responses[200],
    description:
      'A fresh JWT. To a browser (`Permanent-Token-Transport: cookie`, no Permanent-Token header): `{token}` only, the cookie renewed; ' +
      'or `{token: null}` when it has no usable session (no cookie, a malformed or doubled one, or a token refused as under 400), with the cookie cleared. ' +
      'Signed out is a normal state for a page, and browsers log every 4xx answer as an error.',
    content: json({ anyOf: [schemaRef('JwtDevicesRefreshResponse'), schemaRef('JwtDevicesCookieRefreshResponse')] }),
  };
  // Refresh's 400 no longer touches the cookie: a browser's refused cookie is the 200 above.
  const { 'Set-Cookie': _unset, ...headers } = refresh.responses[400]!.headers ?? {};
  refresh.responses[400] = {
    ...refresh.responses[400],
    headers,
    description: `Header clients: ${refresh.responses[400]!.description} Browsers get \`{token: null}\` (200) for these; to them a 400 means a Permanent-Token-Transport value other than \`cookie\`.`,
  };
  refresh.parameters = [
    ...refresh.parameters.map((parameter) => (parameter.name === 'Permanent-Token' ? { ...parameter, required: false, description: 'Header clients: the permanent token. Browsers send the cookie instead.' } : parameter)),
    { name: cookieName, in: 'cookie', required: false, description: 'Browsers: the permanent token, read only with `Permanent-Token-Transport: cookie` and no Permanent-Token header.', schema: { type: 'string' } },
  ];
  return operations;
}

