import { request } from 'node:http';
import { io, type Socket } from 'socket.io-client';
import WebSocket from 'ws';
import { JWT_DEVICES_DISCONNECT_EVENT } from '../../lib/index.js';

/** The WebSocket libraries the gateways run on: `@nestjs/platform-ws` and `@nestjs/platform-socket.io`. */
export type SocketKind = 'ws' | 'socket.io';
export const SOCKET_KINDS: readonly SocketKind[] = ['ws', 'socket.io'];

/** The path both test gateways listen on. */
export const GATEWAY_PATH = '/ws';

/** A reply of the gateway: the handler's `{event, data}`, or Nest's `exception` event. */
export interface SocketReply {
  event: string;
  data: any;
}

/** How the server ended a connection: the close code and reason (socket.io: from the module's event). */
export interface SocketClosed {
  code: number;
  reason: string;
  /** `performance.now()` when the client saw it. */
  at: number;
}

/** A client of either library, with the same three calls. */
export interface TestSocket {
  /** Sends `event` and waits for the reply of the same name or an `exception`. */
  request(event: string, data?: unknown): Promise<SocketReply>;
  /** Settles when the server closes the connection. */
  readonly closed: Promise<SocketClosed>;
  close(): Promise<void>;
}

export interface Handshake {
  /** Headers of the upgrade request (socket.io: `extraHeaders`). */
  headers?: Record<string, string>;
  /** socket.io's `auth.token`. */
  token?: string;
}

/** Connects to the app's gateway; rejects when the handshake is refused. */
export function connect(kind: SocketKind, url: string, handshake: Handshake = {}): Promise<TestSocket> {
  return kind === 'ws' ? connectWs(url, handshake) : connectIo(url, handshake);
}

function connectWs(url: string, { headers = {} }: Handshake): Promise<TestSocket> {
  const client = new WebSocket(`${url.replace(/^http/, 'ws')}${GATEWAY_PATH}`, { headers });
  const closed = new Promise<SocketClosed>((settle) =>
    client.once('close', (code, reason) => settle({ code, reason: reason.toString(), at: performance.now() })),
  );
  const socket: TestSocket = {
    request(event, data) {
      return new Promise((settle, fail) => {
        const onMessage = (raw: WebSocket.RawData) => {
          const reply = JSON.parse(raw.toString()) as SocketReply;
          if (reply.event !== event && reply.event !== 'exception') return;
          client.off('message', onMessage);
          settle(reply);
        };
        client.on('message', onMessage);
        client.send(JSON.stringify({ event, data }), (error) => error && fail(error));
      });
    },
    closed,
    async close() {
      if (client.readyState === WebSocket.CLOSED) return;
      client.close();
      await closed;
    },
  };
  return new Promise((settle, fail) => {
    client.once('open', () => settle(socket));
    client.once('error', fail);
    client.once('unexpected-response', (_request, response) => fail(new Error(`handshake refused: ${response.statusCode}`)));
  });
}

function connectIo(url: string, { headers, token }: Handshake): Promise<TestSocket> {
  const client: Socket = io(url, {
    path: GATEWAY_PATH,
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    timeout: 5_000,
    ...(headers ? { extraHeaders: headers } : {}),
    ...(token !== undefined ? { auth: { token } } : {}),
  });
  let told = { code: 0, reason: '' };
  client.on(JWT_DEVICES_DISCONNECT_EVENT, (payload: { code: number; reason: string }) => (told = payload));
  const closed = new Promise<SocketClosed>((settle) =>
    client.once('disconnect', (reason) => settle({ code: told.code, reason: told.reason || reason, at: performance.now() })),
  );
  const socket: TestSocket = {
    request(event, data) {
      return new Promise((settle) => {
        const onReply = (name: string) => (payload: unknown) => {
          client.off(event, onEvent);
          client.off('exception', onException);
          settle({ event: name, data: payload });
        };
        const onEvent = onReply(event);
        const onException = onReply('exception');
        client.once(event, onEvent);
        client.once('exception', onException);
        client.emit(event, data);
      });
    },
    closed,
    async close() {
      if (!client.connected) return;
      client.disconnect();
      await closed;
    },
  };
  return new Promise((settle, fail) => {
    client.once('connect', () => settle(socket));
    client.once('connect_error', (error) => {
      client.close();
      fail(error);
    });
  });
}

/**
 * The HTTP status with which the server answers a WebSocket upgrade request carrying `headers`, for
 * handshakes too hostile for the client libraries (socket.io's only times out).
 */
export function upgradeStatus(kind: SocketKind, url: string, headers: Record<string, string>): Promise<number> {
  const path = kind === 'ws' ? GATEWAY_PATH : `${GATEWAY_PATH}/?EIO=4&transport=websocket`;
  const upgrade = { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==' };
  return new Promise((settle, fail) => {
    const sent = request(`${url}${path}`, { headers: { ...upgrade, ...headers } });
    sent.once('response', (response) => {
      response.resume();
      settle(response.statusCode ?? 0);
    });
    sent.once('upgrade', (response, socket) => {
      socket.destroy();
      settle(response.statusCode ?? 0);
    });
    sent.once('error', fail);
    sent.end();
  });
}
