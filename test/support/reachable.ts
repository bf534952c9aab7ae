import { connect } from 'node:net';

/** Whether a TCP server answers at host:port within a second. Used to decide which suites can run. */
export function reachable({ host, port }: { host: string; port: number }): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: 1_000 });
    const settle = (up: boolean) => {
      socket.destroy();
      resolve(up);
    };
    socket.once('connect', () => settle(true)).once('error', () => settle(false)).once('timeout', () => settle(false));
  });
}
