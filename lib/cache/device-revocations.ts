import { Logger, type OnModuleDestroy } from '@nestjs/common';
import { JwtDevicesOptionsError } from '../jwt-devices.errors.js';
import type { JwtDevicesRedisOptions } from '../jwt-devices.options.js';

/** Which devices another instance revoked; `'all'` when some may have been missed (after an outage). */
export type RevokedDevices = readonly number[] | 'all';

/**
 * Tells the other instances of the app which devices were revoked, so they drop them from their key
 * caches at once instead of after `deviceCacheTtl`. Inject `DEVICE_REVOCATIONS` to provide your own
 * transport; the module's are {@link LocalDeviceRevocations} and {@link RedisDeviceRevocations}.
 */
export interface DeviceRevocations {
  /** Announces revoked devices. Must never throw or wait: a request is waiting. */
  publish(deviceIds: readonly number[]): void;
  /** Called once, by the service, with what to do when another instance revokes devices. */
  subscribe(listener: (revoked: RevokedDevices) => void): void;
}

/** One instance, nobody to tell: the default. */
export class LocalDeviceRevocations implements DeviceRevocations {
  publish(): void {}
  subscribe(): void {}
}


/** The subset of an ioredis client this transport uses. */
interface RedisClient {
  readonly status: string;
  on(event: string, listener: (...args: any[]) => void): unknown;
  publish(channel: string, message: string): Promise<unknown>;
  subscribe(channel: string): Promise<unknown>;
  disconnect(): void;
}
type RedisConstructor = new (url: string, options: Record<string, unknown>) => RedisClient;

const MAX_IDS_PER_MESSAGE = 10_000;

/**
 * Revocations over Redis pub/sub (needs the `ioredis` package). Redis being down never fails a request:
 * the module logs it once, falls back to the `deviceCacheTtl` bound, reconnects by itself, and on
 * reconnection drops its whole cache, since messages sent meanwhile were lost.
 */
export class RedisDeviceRevocations implements DeviceRevocations, OnModuleDestroy {
  private readonly logger = new Logger('JwtDevicesRedis');
  private readonly publisher: RedisClient;
  private readonly subscriber: RedisClient;
  private readonly channel: string;
  private readonly where: string;
  private listener: (revoked: RevokedDevices) => void = () => undefined;
  private degraded = false;
  private closing = false;

  private constructor(Redis: RedisConstructor, options: JwtDevicesRedisOptions) {
    this.channel = options.channel ?? 'jwt-devices:revoked';
    const url = new URL(options.url);
    this.where = `${url.hostname}:${url.port || 6379}`; // never the password
    const connection = {
      connectTimeout: 2_000,
      maxRetriesPerRequest: 1,
      retryStrategy: (attempt: number) => Math.min(attempt * 250, 2_000),
    };
    this.publisher = new Redis(options.url, { ...connection, enableOfflineQueue: false });
    // No autoResubscribe: onSubscriberReady subscribes on every (re)connection itself, and handles the
    // answer; ioredis's own resubscription leaves its promise unhandled when the connection closes meanwhile.
    this.subscriber = new Redis(options.url, { ...connection, autoResubscribe: false });
    for (const client of [this.publisher, this.subscriber]) {
      client.on('error', () => this.markDegraded());
      client.on('close', () => this.markDegraded());
    }
    this.subscriber.on('ready', () => this.onSubscriberReady());
    this.subscriber.on('message', (channel: string, message: string) => this.onMessage(channel, message));
  }

  /**
   * Loads ioredis and starts connecting; does not wait for Redis, so the app starts when it is down.
   * @throws JwtDevicesOptionsError when ioredis is not installed.
   */
  static async create(options: JwtDevicesRedisOptions): Promise<RedisDeviceRevocations> {
    let Redis: RedisConstructor;
    try {
      Redis = ((await import('ioredis')) as unknown as { Redis: RedisConstructor }).Redis;
    } catch {
      throw new JwtDevicesOptionsError('redis', 'needs the ioredis package: npm install ioredis.');
    }
    return new RedisDeviceRevocations(Redis, options);
  }

  publish(deviceIds: readonly number[]): void {
    if (deviceIds.length === 0) return;
    if (this.publisher.status !== 'ready') {
      this.markDegraded();
      return;
    }
    for (let start = 0; start < deviceIds.length; start += MAX_IDS_PER_MESSAGE) {
      const chunk = deviceIds.slice(start, start + MAX_IDS_PER_MESSAGE);
      this.publisher.publish(this.channel, JSON.stringify(chunk)).catch(() => this.markDegraded());
    }
  }

  subscribe(listener: (revoked: RevokedDevices) => void): void {
    this.listener = listener;
  }

  onModuleDestroy(): void {
    this.closing = true;
    this.publisher.disconnect();
    this.subscriber.disconnect();
  }

  private onSubscriberReady(): void {
    this.subscriber.subscribe(this.channel).then(
      () => {
        if (!this.degraded) return;
        this.degraded = false;
        this.logger.log(`Redis at ${this.where} is reachable: revocations from other instances are immediate again.`);
        this.listener('all');
      },
      () => this.markDegraded(),
    );
  }

  private onMessage(channel: string, message: string): void {
    if (channel !== this.channel || message.length > MAX_IDS_PER_MESSAGE * 12) return;
    let ids: unknown;
    try {
      ids = JSON.parse(message);
    } catch {
      return;
    }
    if (Array.isArray(ids) && ids.every((id) => Number.isSafeInteger(id) && id > 0)) this.listener(ids as number[]);
  }

  private markDegraded(): void {
    if (this.degraded || this.closing) return;
    this.degraded = true;
    this.logger.warn(
      `Redis at ${this.where} is unreachable: devices revoked on other instances are refused here within deviceCacheTtl ` +
        'instead of at once. Reconnecting in the background.',
    );
  }
}
