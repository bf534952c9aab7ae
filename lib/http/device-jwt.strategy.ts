import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { Strategy } from 'passport-custom';
import { type Authenticated, DevicesService } from '../devices.service.js';
import { JWT_DEVICES_STRATEGY, REQUEST_DEVICE_PROPERTY } from '../jwt-devices.constants.js';
import { InvalidTokenError, MissingTokenError } from '../jwt-devices.errors.js';
import { DeviceSockets } from '../transports/device-sockets.js';
import { readableRequest, socketOf, socketRequest, type TransportRequest, unreadableRequestError } from '../transports/transport-request.js';
import { passportOutcome } from './direct-auth.js';
import { readAuthorizationToken } from './request-input.js';

/** A request as the strategies read it: Express's and Fastify's both fit, and a socket's stand-in request. */
export type StrategyRequest = TransportRequest;

/**
 * The passport strategy `'jwt-devices'` (built on `passport-custom`): verifies `Authorization: Bearer <jwt>`
 * (or `JWT <jwt>`) with the device's own key, puts the device on `request.jwtDevice` and returns the
 * app's user; on a gateway it reads the socket's handshake (see `attachUpgradeRequest`).
 * `@nestjs/passport` registers it by name when the module starts, so `@UseGuards(AuthGuard('jwt-devices'))`
 * and `AuthGuard(['your-strategy', 'jwt-devices'])` work as they do for any strategy. `JwtDevicesGuard`
 * calls {@link authenticateRequest} directly instead.
 */
@Injectable()
export class DeviceJwtStrategy extends PassportStrategy(Strategy, JWT_DEVICES_STRATEGY) {
  constructor(
    protected readonly devices: DevicesService,
    protected readonly sockets: DeviceSockets,
  ) {
    super();
  }

  /**
   * Reads and verifies the request's JWT and puts its device on the request. A socket's stand-in
   * request also gets the user, and the socket is tracked so that revoking the device closes it.
   * @throws InvalidTokenError when there is none, or it is refused; StoreUnavailableError.
   */
  async authenticateRequest(request: StrategyRequest): Promise<Authenticated> {
    const token = readAuthorizationToken(request.headers);
    if (!token) throw new MissingTokenError();
    const authenticated = await this.devices.authenticate(token);
    request[REQUEST_DEVICE_PROPERTY] = authenticated.device;
    const socket = socketOf(request);
    if (socket !== undefined) {
      request.user = authenticated.user;
      this.sockets.track(socket, authenticated.device, token);
    }
    return authenticated;
  }

  /**
   * Authenticates a socket once, at connection, for gateways that push to their clients rather than
   * guard their handlers: call it in `handleConnection` (after `attachUpgradeRequest` on `ws`). The
   * socket is then its device's: closed when the device is revoked or the JWT expires, and
   * `@CurrentDevice()` / `@CurrentUser()` work in its handlers.
   * @throws InvalidTokenError (the handshake has no valid JWT: close the socket); StoreUnavailableError;
   * JwtDevicesError when the handshake of a `ws` client was not attached.
   */
  authenticateSocket(client: object): Promise<Authenticated> {
    const request = socketRequest(client);
    if (request === undefined) return Promise.reject(unreadableRequestError('ws'));
    return this.authenticateRequest(request);
  }

  /**
   * passport's hook. A refused token *fails* (so the next strategy of `AuthGuard([...])` gets its turn,
   * and `AuthGuard` answers 401); a store failure is an error (503), which stops the chain.
   */
  validate(request: StrategyRequest): Promise<object | [false, string]> {
    // On a gateway, AuthGuard('jwt-devices') hands passport the socket itself.
    const readable = readableRequest(request);
    if (readable === undefined) return Promise.reject(unreadableRequestError('passport'));
    return passportOutcome(() => this.authenticateRequest(readable), InvalidTokenError);
  }
}
