/**
 * The bodies the module answers with, as classes so that OpenAPI tools and apps' own controllers can
 * use them. Field names are drf-jwt-devices', snake_case included.
 */
import type { ListedDevice } from './store/device-store.js';

/** Body of a login in device mode, exactly as drf-jwt-devices answers it. */
export class DeviceLoginResponse {
  /** The short JWT, signed with the device's key. */
  token!: string;
  /** The device's long-lived secret: shown once, stored only as a hash. Send it as `Permanent-Token` to refresh. */
  permanent_token!: string;
  /** The new device's id. */
  device_id!: number;
}

/** Body of a login with `permanentTokenAuth: false`. */
export class PlainLoginResponse {
  /** A JWT signed with the server's `jwtSecret`. */
  token!: string;
}

/** Body of a login that asked for the cookie transport: the permanent token is in an `HttpOnly` cookie, not here. */
export class CookieLoginResponse {
  /** The short JWT, signed with the device's key. Keep it in memory only. */
  token!: string;
  /** The new device's id. */
  device_id!: number;
}

/** What `DevicesService.login()` and `issue()` answer (the route answers {@link CookieLoginResponse} to cookie clients). */
export type LoginResponse = DeviceLoginResponse | PlainLoginResponse;

/** Body of `POST /device-refresh-token/`. */
export class RefreshResponse {
  /** A fresh short JWT. */
  token!: string;
  /** With `permanentTokenRotation`: the device's new permanent token; the presented one is retired. */
  permanent_token?: string;
}

/**
 * Body of `POST /device-refresh-token/` to a browser using the cookie transport that has no usable
 * session: no cookie, a malformed or doubled one, or a refused token (unknown, expired, revoked, or
 * replayed after rotation). The cookie is cleared in the same answer. Signed out is a normal state for
 * a page, so it is a 200 (which browsers do not log as an error), not a 400; header clients still get 400.
 */
export class SignedOutResponse {
  token!: null;
}

/** What the refresh route answers: {@link RefreshResponse}, or {@link SignedOutResponse} to a signed-out browser. */
export type RefreshRouteResponse = RefreshResponse | SignedOutResponse;

/** One entry of `GET /devices/`. */
export class DeviceView {
  id!: number;
  /** When the device logged in, ISO-8601. */
  created!: string;
  /** `X-Device-Model` at login, else the `User-Agent`; or the name the user gave it. */
  name!: string;
  /** The `User-Agent` when `name` came from `X-Device-Model`, else empty. */
  details!: string;
  /** Last refresh (to `permanentTokenExpirationAccuracy`), ISO-8601. */
  last_request_datetime!: string;
  /** `true` for the device that made the request. */
  current!: boolean;
}

/** How `GET /devices/` shows a device; `currentDeviceId` marks the caller's. */
export function deviceView(device: ListedDevice, currentDeviceId: number | null): DeviceView {
  return {
    id: device.id,
    created: device.created.toISOString(),
    name: device.name,
    details: device.details,
    last_request_datetime: device.lastRequestDatetime.toISOString(),
    current: device.id === currentDeviceId,
  };
}

/** The device (or, with `permanentTokenAuth: false`, the device-less session) a request authenticated as. */
export interface AuthenticatedDevice {
  /** The device's id; `null` for a plain JWT (`permanentTokenAuth: false`). */
  readonly id: number | null;
  /** The app's user id, as stored on the device (always a string). */
  readonly userId: string;
}

/** A verified credential: the app's user (from `users.findUser`) and the device it came from. */
export interface Authenticated<TUser extends object = object> {
  readonly user: TUser;
  readonly device: AuthenticatedDevice;
}

/** An accepted permanent token: the user, the device, and the body the refresh route answers with. */
export interface Refreshed<TUser extends object = object> extends Authenticated<TUser> {
  readonly response: RefreshResponse;
}

/** One page of a user's devices (see {@link DevicesService.list}). */
export interface DevicePage {
  /** At most `devicesPageSize` devices, oldest (lowest id) first. */
  readonly devices: DeviceView[];
  /** Pass it as `after` for the next page; `null` on the last page. */
  readonly next: number | null;
}

/** A user id as apps pass it: the string the module stores, or the number the app's entity has. */
export type UserId = string | number;
