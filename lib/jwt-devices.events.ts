import { Inject, Injectable, Logger } from '@nestjs/common';
import { JWT_DEVICES_OPTIONS } from './jwt-devices.constants.js';

/** Why a device was deleted. */
export type DeviceRevokedReason =
  /** `DELETE /device-logout/`, `DELETE /devices/:id/` or `DevicesService.revoke()`. */
  | 'logout'
  /** `DELETE /devices/others/`, `DELETE /devices/` or `revokeOthers()`/`revokeAllForUser()`. */
  | 'signed-out'
  /** Idle past `permanentTokenExpiration`, or older than `permanentTokenMaxAge`. */
  | 'expired'
  /** A login beyond `devicesPerUser` pushed out the least recently used device. */
  | 'evicted'
  /** A rotated-out permanent token was presented after the reuse interval. */
  | 'theft'
  /** `users.findUser` no longer finds the device's user. */
  | 'user-gone';

interface DeviceEventBase {
  readonly deviceId: number;
  readonly userId: string;
  /** When it happened, by the module's clock. */
  readonly at: Date;
}

/**
 * What the module tells `onEvent` for audit logs and alerts. Events carry ids and reasons only:
 * never a token, hash or secret.
 */
export type JwtDevicesEvent =
  | (DeviceEventBase & { readonly type: 'device.created'; readonly name: string })
  | (DeviceEventBase & { readonly type: 'device.refreshed' })
  | (DeviceEventBase & { readonly type: 'device.rotated' })
  | (DeviceEventBase & { readonly type: 'device.reuse-detected' })
  | (DeviceEventBase & { readonly type: 'device.revoked'; readonly reason: DeviceRevokedReason });

/** The `onEvent` option: told of every device event; what it throws or rejects with is logged, never passed on. */
export type JwtDevicesEventListener = (event: JwtDevicesEvent) => void | Promise<void>;

/** Every event type, for listeners that subscribe by name. */
export const JWT_DEVICES_EVENT_TYPES = [
  'device.created',
  'device.refreshed',
  'device.rotated',
  'device.reuse-detected',
  'device.revoked',
] as const satisfies readonly JwtDevicesEvent['type'][];

/**
 * Hands events to the `onEvent` option. A listener's failure is logged (by class only) and never
 * reaches the request that caused the event.
 */
@Injectable()
export class DeviceEvents {
  private readonly logger = new Logger('JwtDevicesEvents');

  constructor(@Inject(JWT_DEVICES_OPTIONS) private readonly options: { readonly onEvent: JwtDevicesEventListener | null }) {}

  emit(event: JwtDevicesEvent): void {
    const { onEvent } = this.options;
    if (onEvent === null) return;
    const failed = (error: unknown) =>
      this.logger.error(`onEvent listener failed for ${event.type}: ${(error as { name?: string } | undefined)?.name ?? 'Error'}`);
    try {
      const result = onEvent(event);
      if (result instanceof Promise) result.catch(failed);
    } catch (error) {
      failed(error);
    }
  }
}
