import { type AddressInfo, connect, createServer, type Socket } from 'node:net';

/** Where a {@link TcpProxy} forwards to. */
export interface ProxyTarget {
  host: string;
  port: number;
}

export interface TcpProxyOptions {
  /** Most client connections held at once; more are reset on arrival. Default 64. */
  maxConnections?: number;
  /** Give up connecting to the target after this long. Default 2 s. */
  connectTimeoutMs?: number;
  /** The proxy closes itself after this long, should a test forget to. Default 120 s. */
  lifetimeMs?: number;
  /** Initial {@link TcpProxy.setLatency}. Default 0. */
  latencyMs?: number;
}

/** Counters, for assertions and reports. */
export interface TcpProxyStats {
  /** Connections forwarded to the target. */
  forwarded: number;
  /** Connections reset on arrival: while cut, over `maxConnections`, or after `close()`. */
  refused: number;
  /** Connections reset by `cut()`. */
  severed: number;
  /** Connections open right now. */
  open: number;
  /** Bytes received and not yet passed on (held by the latency), right now. */
  inFlight: number;
}

/**
 * A TCP proxy on 127.0.0.1 (random port) in front of a database server, so a test can pull the cable
 * between an app and its database without touching the shared server.
 *
 * - `cut()` resets every open connection and, until `restore()`, resets each new one as soon as it
 *   arrives: drivers see ECONNRESET at once instead of waiting for a timeout.
 * - `setLatency(ms)` delays every chunk by `ms` in each direction (a database a little further away),
 *   so requests fired together really overlap on the pool and a cut can catch queries in flight.
 * - `close()` resets everything and stops listening; it also happens by itself after `lifetimeMs`,
 *   and the proxy never keeps the process alive.
 * - Bounded: at most `maxConnections` connections, and each direction holds at most 1 MiB before it
 *   stops reading (back-pressure), whatever the latency.
 */
export interface TcpProxy {
  readonly host: '127.0.0.1';
  readonly port: number;
  readonly isCut: boolean;
  readonly stats: Readonly<TcpProxyStats>;
  cut(): void;
  restore(): void;
  setLatency(ms: number): void;
  close(): Promise<void>;
}

/** Most bytes one direction of one connection holds before it stops reading. */
const MAX_HELD_BYTES = 1 << 20;

export async function startTcpProxy(target: ProxyTarget, options: TcpProxyOptions = {}): Promise<TcpProxy> {
  const { maxConnections = 64, connectTimeoutMs = 2_000, lifetimeMs = 120_000 } = options;
  let latencyMs = Math.max(0, options.latencyMs ?? 0);
  const pairs = new Set<readonly [Socket, Socket]>();
  const stats: TcpProxyStats = { forwarded: 0, refused: 0, severed: 0, open: 0, inFlight: 0 };
  let cut = false;
  let closed = false;

  const reset = (socket: Socket) => {
    if (!socket.destroyed) socket.resetAndDestroy();
  };
  const sever = (pair: readonly [Socket, Socket]): boolean => {
    if (!pairs.delete(pair)) return false;
    stats.open = pairs.size;
    reset(pair[0]);
    reset(pair[1]);
    return true;
  };

  /** Copies `from` to `to` in order, each chunk `latencyMs` late (as set when it arrived). */
  function forward(from: Socket, to: Socket): void {
    const queue: { chunk: Buffer; due: number }[] = [];
    let held = 0;
    let ended = false;
    let timer: NodeJS.Timeout | undefined;
    const maybeResume = () => {
      if (from.isPaused() && !from.destroyed && held <= MAX_HELD_BYTES && !to.writableNeedDrain) from.resume();
    };
    const pump = () => {
      timer = undefined;
      const now = performance.now();
      while (queue.length > 0 && queue[0]!.due <= now) {
        const { chunk } = queue.shift()!;
        held -= chunk.length;
        stats.inFlight -= chunk.length;
        if (!to.destroyed) to.write(chunk);
      }
      if (queue.length > 0) timer = setTimeout(pump, queue[0]!.due - now).unref();
      else if (ended && !to.destroyed) to.end();
      if (to.writableNeedDrain) from.pause();
      maybeResume();
    };
    from.on('data', (chunk: Buffer) => {
      queue.push({ chunk, due: performance.now() + latencyMs });
      held += chunk.length;
      stats.inFlight += chunk.length;
      if (held > MAX_HELD_BYTES) from.pause();
      if (timer === undefined) pump();
    });
    from.once('end', () => {
      ended = true;
      if (timer === undefined) pump();
    });
    to.on('drain', maybeResume);
    to.once('close', () => {
      clearTimeout(timer);
      for (const { chunk } of queue.splice(0)) stats.inFlight -= chunk.length;
      held = 0;
    });
  }

  const server = createServer({ noDelay: true }, (client) => {
    client.on('error', () => undefined);
    if (cut || closed || pairs.size >= maxConnections) {
      stats.refused++;
      reset(client);
      return;
    }
    const upstream = connect({ host: target.host, port: target.port, noDelay: true });
    upstream.on('error', () => undefined);
    const pair = [client, upstream] as const;
    pairs.add(pair);
    stats.forwarded++;
    stats.open = pairs.size;
    // Bound the connect to the target; once connected, the drivers' own timeouts apply.
    upstream.setTimeout(connectTimeoutMs, () => sever(pair));
    upstream.once('connect', () => upstream.setTimeout(0));
    client.once('close', () => sever(pair));
    upstream.once('close', () => sever(pair));
    forward(client, upstream);
    forward(upstream, client);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.unref();
  const { port } = server.address() as AddressInfo;

  const close = () =>
    new Promise<void>((resolve) => {
      clearTimeout(lifetime);
      closed = true;
      for (const pair of [...pairs]) sever(pair);
      if (!server.listening) return resolve();
      server.close(() => resolve());
    });
  const lifetime = setTimeout(() => void close(), lifetimeMs).unref();

  return {
    host: '127.0.0.1',
    port,
    get isCut() {
      return cut;
    },
    stats,
    cut() {
      cut = true;
      for (const pair of [...pairs]) if (sever(pair)) stats.severed++;
    },
    restore() {
      if (closed) throw new Error('TcpProxy.restore() after close()');
      cut = false;
    },
    setLatency(ms: number) {
      latencyMs = Math.max(0, ms);
    },
    close,
  };
}
