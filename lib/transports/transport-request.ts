import type { ExecutionContext } from '@nestjs/common';
import { JwtDevicesError } from '../jwt-devices.errors.js';
import type { RequestHeaders } from '../sessions/device-names.js';

/**
 * One request-shaped object per call, whatever the transport: the guards read the JWT from its
 * `headers` and put the user (`user`) and the device (`jwtDevice`) on it, and `@CurrentUser()` /
 * `@CurrentDevice()` read them back. Nothing here imports `@nestjs/graphql` or `@nestjs/websockets`:
 * the transport is told by `context.getType()` and the shape of `context.getArgs()`.
 */
export interface TransportRequest {
  headers: RequestHeaders;
  [property: string]: unknown;
}

/** The handshake of a WebSocket, as far as this module reads it. */
interface UpgradeRequest {
  readonly headers?: unknown;
}

/** A socket.io socket, as far as this module reads it. */
interface SocketIoSocket {
  readonly handshake: { readonly headers?: unknown; readonly auth?: unknown };
}

/** Handshakes recorded by {@link attachUpgradeRequest}, by `ws` client. */
const upgradeRequests = new WeakMap<object, UpgradeRequest>();
/** The stand-in request of each socket, and the socket of each stand-in request. */
const socketRequests = new WeakMap<object, TransportRequest>();
const sockets = new WeakMap<TransportRequest, object>();

/**
 * Records the upgrade request of a `@nestjs/platform-ws` connection, so that `JwtDevicesGuard`,
 * `AuthGuard('jwt-devices')` and the decorators find the `Authorization` header of its handshake on
 * every message. The `ws` package keeps no reference to it, so the gateway hands it over once:
 *
 * @example
 * ```ts
 * @WebSocketGateway()
 * export class EventsGateway implements OnGatewayConnection {
 *   handleConnection(client: WebSocket, request: IncomingMessage) {
 *     attachUpgradeRequest(client, request);
 *   }
 * }
 * ```
 * socket.io sockets need nothing: their handshake is always at hand.
 */
export function attachUpgradeRequest(client: object, request: { readonly headers?: unknown }): void {
  if (isObject(client) && isObject(request)) upgradeRequests.set(client, request);
}

/**
 * The request of a call: the HTTP request; on a GraphQL resolver, the request in the GraphQL context
 * (`req` with Apollo and Mercurius, Mercurius's `reply.request` otherwise); on a gateway, the socket's
 * stand-in request (see {@link socketRequest}). `undefined` for other transports (microservices) and for
 * a `ws` client whose handshake was never attached.
 */
export function transportRequest(context: ExecutionContext): TransportRequest | undefined {
  switch (context.getType<string>()) {
    case 'http':
      return asRequest(context.switchToHttp().getRequest<unknown>());
    case 'graphql': {
      const graphqlContext = context.getArgs<unknown[]>()[2] as { req?: unknown; request?: unknown; reply?: { request?: unknown } } | undefined;
      return asRequest(graphqlContext?.req) ?? asRequest(graphqlContext?.reply?.request) ?? asRequest(graphqlContext?.request);
    }
    case 'ws':
      return socketRequest(context.switchToWs().getClient<unknown>());
    default:
      return undefined;
  }
}

/**
 * The request a guard authenticates: {@link transportRequest}, refusing what a guard cannot protect.
 * @throws JwtDevicesError (a developer error, answered as an internal error) on a GraphQL subscription —
 * a subscription is authenticated once and would outlive its device's revocation and its JWT, which
 * this module does not allow — and when the transport has no readable request.
 */
export function guardedRequest(context: ExecutionContext): TransportRequest {
  if (context.getType<string>() === 'graphql' && (context.getArgs<unknown[]>()[3] as { operation?: { operation?: unknown } } | undefined)?.operation?.operation === 'subscription') {
    throw new JwtDevicesError(
      'nestjs-jwt-devices does not guard GraphQL subscriptions: one would stay open after its device is signed out. Use a WebSocket gateway, whose sockets the module closes on revocation.',
    );
  }
  const request = transportRequest(context);
  if (request === undefined) throw unreadableRequestError(context.getType());
  return request;
}

/**
 * Why a call has no readable request, for the developer: an app bug, not a client's, so it is thrown as
 * a plain error (logged by Nest, answered as an internal error).
 */
export function unreadableRequestError(transport: string): JwtDevicesError {
  const handshake =
    'call attachUpgradeRequest(client, request) in your gateway\'s handleConnection (README, "GraphQL and WebSockets"); ' +
    'socket.io sockets need nothing.';
  switch (transport) {
    case 'ws':
      return new JwtDevicesError(`nestjs-jwt-devices cannot see the handshake of this WebSocket: ${handshake}`);
    case 'passport':
      return new JwtDevicesError(
        'The jwt-devices passport strategy was handed no request it can read. On a GraphQL resolver, use JwtDevicesGuard or ' +
          "AuthGuard('jwt-devices'); an AuthGuard([...]) chain reads switchToHttp().getRequest(), which resolvers do not have, unless " +
          `you override its getRequest. On a ws gateway, ${handshake}`,
      );
    case 'graphql':
      return new JwtDevicesError('nestjs-jwt-devices found no request in this GraphQL context: keep `req` in your context function.');
    default:
      return new JwtDevicesError(`nestjs-jwt-devices reads JWTs from HTTP requests, GraphQL resolvers and WebSocket gateways, not '${transport}' calls.`);
  }
}

/**
 * What a passport strategy receives as "request", made readable: an HTTP request as it is; a socket
 * (`AuthGuard('jwt-devices')` on a gateway hands passport the client) as its stand-in request.
 */
export function readableRequest(candidate: unknown): TransportRequest | undefined {
  return asRequest(candidate) ?? socketRequest(candidate);
}

/**
 * The stand-in request of a socket, made once per socket: the headers of its handshake, where a
 * socket.io client's `auth.token` (`io(url, { auth: { token } })`) counts as `Authorization: Bearer
 * <token>` and wins over an `Authorization` header. `undefined` when `client` is no socket this module
 * knows, or a `ws` client without {@link attachUpgradeRequest}.
 */
export function socketRequest(client: unknown): TransportRequest | undefined {
  if (!isObject(client)) return undefined;
  const known = socketRequests.get(client);
  if (known !== undefined) return known;
  const headers = isSocketIo(client) ? socketIoHeaders(client) : headersOf(upgradeRequests.get(client));
  if (headers === undefined) return undefined;
  const request: TransportRequest = { headers };
  socketRequests.set(client, request);
  sockets.set(request, client);
  return request;
}

/** The socket behind a stand-in request; `undefined` for an HTTP or GraphQL request. */
export function socketOf(request: object): object | undefined {
  return sockets.get(request as TransportRequest);
}

/** Whether `client` is a socket.io socket (rather than a `ws` client). */
export function isSocketIo(client: object): client is SocketIoSocket {
  return isObject((client as Partial<SocketIoSocket>).handshake);
}

function socketIoHeaders(client: SocketIoSocket): RequestHeaders {
  const headers: Record<string, RequestHeaders[string]> = { ...headersOf(client.handshake) };
  const token = isObject(client.handshake.auth) ? (client.handshake.auth as { token?: unknown }).token : undefined;
  if (typeof token === 'string') headers.authorization = /^(?:Bearer|JWT) /i.test(token) ? token : `Bearer ${token}`;
  return headers;
}

function headersOf(request: UpgradeRequest | undefined): RequestHeaders | undefined {
  return isObject(request?.headers) ? (request.headers as RequestHeaders) : undefined;
}

function asRequest(candidate: unknown): TransportRequest | undefined {
  return isObject(candidate) && isObject((candidate as Partial<TransportRequest>).headers) ? (candidate as TransportRequest) : undefined;
}

function isObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null;
}
