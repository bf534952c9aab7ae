import { type INestApplication, UseGuards } from '@nestjs/common';
import { AuthGuard } from '@nestjs/passport';
import { IoAdapter } from '@nestjs/platform-socket.io';
import { WsAdapter } from '@nestjs/platform-ws';
import { type OnGatewayConnection, SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import { attachUpgradeRequest, type AuthenticatedDevice, CurrentDevice, CurrentUser, JwtDevicesGuard } from '../../lib/index.js';
import { GATEWAY_PATH, type SocketKind } from './sockets.js';
import type { TestAppSetup } from './test-app.js';
import type { TestUser } from './users.js';

/**
 * A gateway as the README shows it, for both libraries: the `ws` handshake handed over in
 * `handleConnection`, handlers under `JwtDevicesGuard` and `AuthGuard('jwt-devices')`, and a public one.
 */
@WebSocketGateway({ path: GATEWAY_PATH })
export class DevicesGateway implements OnGatewayConnection {
  handleConnection(client: object, request?: { headers?: unknown }): void {
    if (request) attachUpgradeRequest(client, request);
  }

  @SubscribeMessage('whoami')
  @UseGuards(JwtDevicesGuard)
  whoami(@CurrentDevice() device: AuthenticatedDevice, @CurrentUser() user: TestUser): object {
    return { event: 'whoami', data: { device, username: user.username } };
  }

  @SubscribeMessage('passport')
  @UseGuards(AuthGuard('jwt-devices'))
  passport(@CurrentDevice() device: AuthenticatedDevice, @CurrentUser() user: TestUser): object {
    return { event: 'passport', data: { device, username: user.username } };
  }

  @SubscribeMessage('ping')
  ping(): object {
    return { event: 'ping', data: 'pong' };
  }
}

/** What `createTestApp` needs to serve {@link DevicesGateway} on `kind`, listening on a real port. */
export function gatewaySetup(kind: SocketKind): Pick<TestAppSetup, 'providers' | 'beforeInit' | 'listen'> {
  return {
    providers: [DevicesGateway],
    beforeInit: (app: INestApplication) => app.useWebSocketAdapter(kind === 'ws' ? new WsAdapter(app) : new IoAdapter(app)),
    listen: true,
  };
}
