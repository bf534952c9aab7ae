import { type INestApplication, UseGuards } from '@nestjs/common';
import { AuthGuard } from '@nestjs/passport';
import { IoAdapter } from '@nestjs/platform-socket.io';
import { WsAdapter } from '@nestjs/platform-ws';
import { type OnGatewayConnection, SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import { attachUpgradeRequest, type AuthenticatedDevice, CurrentDevice, CurrentUser, DeviceJwtStrategy, JwtDevicesGuard } from '../../lib/index.js';
import { GATEWAY_PATH, type SocketKind } from './sockets.js';
import type { TestAppSetup } from './test-app.js';
import type { TestUser } from './users.js';

/**
 * A gateway as the README shows it, for both libraries: the `ws` handshake handed over in
 * `handleConnection`, handlers under `JwtDevicesGuard` and `AuthGuard('jwt-devices')`, and a public one.
 */
@WebSocketGateway({ path: GATEWAY_PATH })
export class DevicesGateway implements OnGatewayConnection {
  constructor(private readonly strategy: DeviceJwtStrategy) {}

  /** With `X-Authenticate: connection`, authenticates at connection, as a gateway that only pushes would. */
  async handleConnection(client: object, request?: { headers?: Record<string, unknown> }): Promise<void> {
    if (request) attachUpgradeRequest(client, request);
    const headers = request?.headers ?? (client as { handshake: { headers: Record<string, unknown> } }).handshake.headers;
    if (headers['x-authenticate'] !== 'connection') return;
    await this.strategy.authenticateSocket(client).catch(() => {
      const socket = client as { close?(code: number, reason: string): void; disconnect?(close: boolean): void };
      if (socket.close) socket.close(4000, 'unauthorized');
      else socket.disconnect?.(true);
    });
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

  /** Unguarded: the device of a socket authenticated at connection, if any. */
  @SubscribeMessage('device')
  device(@CurrentDevice() device: AuthenticatedDevice | undefined): object {
    return { event: 'device', data: device ?? null };
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
