export { Device, DeviceRecord, deviceEntityFor, MYSQL_BINARY_COLLATION, MysqlDevice, PostgresDevice } from './device.entity.js';
export { type CachedDevice, DeviceCache } from './device-cache.js';
export {
  type DeviceRevocations,
  type JwtDevicesRedisOptions,
  LocalDeviceRevocations,
  RedisDeviceRevocations,
  type RevokedDevices,
} from './device-revocations.js';
export { DeviceJwtStrategy, type StrategyRequest } from './device-jwt.strategy.js';
export { DevicesController } from './devices.controller.js';
export {
  type Authenticated,
  type AuthenticatedDevice,
  type DeviceLoginResponse,
  type DeviceView,
  DevicesService,
  type LoginResponse,
  type PlainLoginResponse,
  type RefreshResponse,
} from './devices.service.js';
export { type Duration, parseDuration } from './duration.js';
export { JwtDevicesClock } from './jwt-devices.clock.js';
export {
  DEVICE_ID_HEADER,
  DEVICE_MODEL_HEADER,
  DEVICE_REPOSITORY,
  DEVICE_REVOCATIONS,
  DEVICE_TABLE,
  JWT_DEVICES_OPTIONS,
  JWT_DEVICES_STRATEGY,
  PERMANENT_TOKEN_ALLOWED_METADATA,
  PERMANENT_TOKEN_HEADER,
  PERMANENT_TOKEN_STRATEGY,
  REQUEST_DEVICE_PROPERTY,
} from './jwt-devices.constants.js';
export { AllowPermanentToken, CurrentDevice } from './jwt-devices.decorators.js';
export { JwtDevicesError, JwtDevicesOptionsError } from './jwt-devices.errors.js';
export { type DeviceRevokedReason, JWT_DEVICES_EVENT_TYPES, type JwtDevicesEvent } from './jwt-devices.events.js';
export { JwtDevicesGuard } from './jwt-devices.guard.js';
export { JwtDevicesModule } from './jwt-devices.module.js';
export {
  JWT_DEVICES_ASYNC_OPTIONS_TYPE,
  JWT_DEVICES_MODULE_OPTIONS,
  JWT_DEVICES_OPTIONS_TYPE,
} from './jwt-devices.module-definition.js';
export {
  JWT_DEVICES_DEFAULTS,
  type JwtDevicesModuleExtras,
  type JwtDevicesModuleOptions,
  type JwtDevicesUsers,
  type ResolvedJwtDevicesOptions,
  resolveJwtDevicesOptions,
} from './jwt-devices.options.js';
export { CreateJwtDevicesDevice1764400000000, JWT_DEVICES_MIGRATIONS } from './migrations/index.js';
export { PassportStrategyGuard, type PassportStrategyLike } from './passport-strategy.guard.js';
export { PermanentTokenGuard } from './permanent-token.guard.js';
export { PermanentTokenStrategy } from './permanent-token.strategy.js';
export { PermittedHeadersGuard } from './permitted-headers.guard.js';
export { addJwtDevicesToOpenApi, type JwtDevicesOpenApiOptions, type OpenApiDocumentLike } from './jwt-devices.openapi.js';
