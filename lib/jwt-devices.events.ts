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

/** Every event type, for listeners that subscribe by name. */
export const JWT_DEVICES_EVENT_TYPES = [
  'device.created',
  'device.refreshed',
  'device.rotated',
  'device.reuse-detected',
  'device.revoked',
] as const satisfies readonly JwtDevicesEvent['type'][];
