/**
 * Injection tokens, strategy names and metadata keys. Each is defined here and only here.
 */

/** Name of the passport-custom strategy that verifies device JWTs (`Authorization: Bearer|JWT …`). */
export const JWT_DEVICES_STRATEGY = 'jwt-devices';

/** Name of the passport-custom strategy that reads the `Permanent-Token` header on refresh. */
export const PERMANENT_TOKEN_STRATEGY = 'jwt-devices-permanent-token';

/** Metadata key set by {@link AllowPermanentToken}: the handler may receive a `Permanent-Token` header. */
export const PERMANENT_TOKEN_ALLOWED_METADATA = 'jwt-devices:permanent-token-allowed';

/** Header that carries the permanent token (compared case-insensitively, as all HTTP header names). */
export const PERMANENT_TOKEN_HEADER = 'permanent-token';

/** Header that names the device to log out on `DELETE /device-logout/`. */
export const DEVICE_ID_HEADER = 'device-id';

/** Header a client uses to name its device, e.g. `X-Device-Model: Pixel 8`. */
export const DEVICE_MODEL_HEADER = 'x-device-model';

/** Property of the request where the guard puts the authenticated device (`undefined` for plain JWTs). */
export const REQUEST_DEVICE_PROPERTY = 'jwtDevice';

/** Default table name of the {@link Device} entity. */
export const DEVICE_TABLE = 'jwt_devices_device';

/** Injection token of the validated, defaulted, frozen options (`ResolvedJwtDevicesOptions`). */
export const JWT_DEVICES_OPTIONS = Symbol('JWT_DEVICES_OPTIONS');

/** Injection token of the TypeORM `Repository<Device>` of the data source the module was given. */
export const DEVICE_REPOSITORY = Symbol('JWT_DEVICES_DEVICE_REPOSITORY');

/** Injection token of the `DeviceRevocations` transport that tells other instances about revoked devices. */
export const DEVICE_REVOCATIONS = Symbol('JWT_DEVICES_DEVICE_REVOCATIONS');
