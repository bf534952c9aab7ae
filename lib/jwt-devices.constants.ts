/**
 * Injection tokens, strategy names and metadata keys. Each is defined here and only here.
 */

/** Name of the passport-custom strategy that verifies device JWTs (`Authorization: Bearer|JWT …`). */
export const JWT_DEVICES_STRATEGY = 'jwt-devices';

/** Name of the passport-custom strategy that reads the `Permanent-Token` header on refresh. */
export const PERMANENT_TOKEN_STRATEGY = 'jwt-devices-permanent-token';

/** Metadata key set by {@link AllowPermanentToken}: the handler may receive a `Permanent-Token` header. */
export const PERMANENT_TOKEN_ALLOWED_METADATA = 'jwt-devices:permanent-token-allowed';

/** Metadata key set by {@link Public}: `JwtDevicesGuard` lets the route through without a JWT. */
export const PUBLIC_ROUTE_METADATA = 'jwt-devices:public';

/** Header that carries the permanent token (compared case-insensitively, as all HTTP header names). */
export const PERMANENT_TOKEN_HEADER = 'permanent-token';

/** Header a browser client sends (`Permanent-Token-Transport: cookie`) to keep its permanent token in an httpOnly cookie. */
export const TOKEN_TRANSPORT_HEADER = 'permanent-token-transport';

/** Header that names the device to log out on `DELETE /device-logout/`. */
export const DEVICE_ID_HEADER = 'device-id';

/** Header a client uses to name its device, e.g. `X-Device-Model: Pixel 8`. */
export const DEVICE_MODEL_HEADER = 'x-device-model';

/** Property of the request where the guards put the authenticated device (`{ id, userId }`). */
export const REQUEST_DEVICE_PROPERTY = 'jwtDevice';

/**
 * Property of the request where the permanent-token guard puts the refresh answer (`{ token, permanent_token? }`;
 * `{ token: null }` when a browser on the module's refresh route has no usable cookie).
 */
export const REQUEST_REFRESH_PROPERTY = 'jwtDeviceRefresh';

/**
 * Marks the module's refresh route: there, a cookie request with no usable session is answered
 * `{ token: null }` rather than refused. Internal: on any other route `PermanentTokenGuard` refuses it (400).
 */
export const SIGNED_OUT_ANSWER_METADATA = 'jwt-devices:signed-out-answer';

/** Default table name of the {@link Device} entity. */
export const DEVICE_TABLE = 'jwt_devices_device';

/** Table of the `UserRevocation` entity: when each user's devices were last all revoked. */
export const USER_REVOCATION_TABLE = 'jwt_devices_user_revocation';

/** Injection token of the validated, defaulted, frozen options (`ResolvedJwtDevicesOptions`). */
export const JWT_DEVICES_OPTIONS = Symbol('JWT_DEVICES_OPTIONS');

/** The module's route prefix (the `path` extra), for messages that name its routes. Internal. */
export const JWT_DEVICES_ROUTE_PATH = Symbol('JWT_DEVICES_ROUTE_PATH');

/** The module's own `JwtService` (no app-wide `JwtModule` defaults reach it). Internal. */
export const JWT_DEVICES_JWT_SERVICE = Symbol('JWT_DEVICES_JWT_SERVICE');

/** Injection token of the `DeviceRevocations` transport that tells other instances about revoked devices. */
export const DEVICE_REVOCATIONS = Symbol('JWT_DEVICES_DEVICE_REVOCATIONS');
