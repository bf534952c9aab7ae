export { type CachedDevice, DeviceCache } from './cache/device-key-cache.js';
export {
  type DeviceRevocations,
  LocalDeviceRevocations,
  RedisDeviceRevocations,
  type RevokedDevices,
} from './cache/device-revocations.js';
export { type Authenticated, type AuthenticatedDevice, type DevicePage, DevicesService, type Refreshed, type UserId } from './devices.service.js';
export { CookieLoginResponse, DeviceLoginResponse, DeviceView, type LoginResponse, PlainLoginResponse, RefreshResponse, type RefreshRouteResponse, SignedOutResponse } from './devices.responses.js';
export { type Duration, parseDuration } from './duration.js';
export { CookieTransport, crossSiteRefusal } from './http/cookie-transport.js';
export { DeviceJwtStrategy, type StrategyRequest } from './http/device-jwt.strategy.js';
export { DevicesController } from './http/devices.controller.js';
export { LoginDto, MAX_CREDENTIAL_LENGTH } from './http/dto/login.dto.js';
export { RenameDeviceDto } from './http/dto/rename-device.dto.js';
export { AllowPermanentToken, CurrentDevice, CurrentUser, Public } from './http/jwt-devices.decorators.js';
export { JwtDevicesGuard } from './http/jwt-devices.guard.js';
export { JwtDevicesErrorsInterceptor, toHttpException } from './http/jwt-devices.http-errors.js';
export { JwtDevicesRoutes } from './http/jwt-devices.routes.js';
export { addJwtDevicesToOpenApi, type JwtDevicesOpenApiOptions, type OpenApiDocumentLike } from './http/jwt-devices.openapi.js';
export { JwtDevicesBodyPipe, type ParseDeviceIdOptions, ParseDeviceIdPipe } from './http/jwt-devices.pipes.js';
export { PermanentTokenGuard } from './http/permanent-token.guard.js';
export { PermanentTokenStrategy } from './http/permanent-token.strategy.js';
export { PermittedHeadersGuard } from './http/permitted-headers.guard.js';
export { JwtDevicesClock } from './jwt-devices.clock.js';
export {
  DEVICE_ID_HEADER,
  DEVICE_MODEL_HEADER,
  DEVICE_REVOCATIONS,
  DEVICE_TABLE,
  JWT_DEVICES_OPTIONS,
  JWT_DEVICES_STRATEGY,
  PERMANENT_TOKEN_ALLOWED_METADATA,
  PERMANENT_TOKEN_HEADER,
  PERMANENT_TOKEN_STRATEGY,
  PUBLIC_ROUTE_METADATA,
  REQUEST_DEVICE_PROPERTY,
  REQUEST_REFRESH_PROPERTY,
  USER_REVOCATION_TABLE,
} from './jwt-devices.constants.js';
export {
  DeviceEvictedError,
  DeviceNotFoundError,
  InvalidCredentialsError,
  InvalidDeviceInputError,
  InvalidPermanentTokenError,
  InvalidTokenError,
  JwtDevicesError,
  JwtDevicesOptionsError,
  JwtDevicesRequestError,
  LoginNotConfiguredError,
  LoginRevokedError,
  MissingTokenError,
  NoDevicesError,
  PermanentTokenReusedError,
  StalePermanentTokenError,
  StoreUnavailableError,
  TokenExpiredError,
} from './jwt-devices.errors.js';
export { type DeviceRevokedReason, JWT_DEVICES_EVENT_TYPES, type JwtDevicesEvent, type JwtDevicesEventListener } from './jwt-devices.events.js';
export { InjectDeviceStore, InjectJwtDevicesOptions, JwtDevicesModule } from './jwt-devices.module.js';
export type { JwtDevicesModuleAsyncOptions, JwtDevicesModuleRootOptions } from './jwt-devices.module-definition.js';
export type { JwtDevicesModuleExtras, JwtDevicesRouteSetting, JwtDevicesRoutesOptions } from './jwt-devices.extras.js';
export { JWT_DEVICES_DEFAULTS, type JwtDevicesModuleOptions, type JwtDevicesRedisOptions, type ResolvedJwtDevicesOptions } from './jwt-devices.options.js';
export { AppUsers, type JwtDevicesUsers } from './jwt-devices.users.js';
export { Device, DeviceRecord, deviceEntityFor, MYSQL_BINARY_COLLATION, MysqlDevice, PostgresDevice } from './store/device.entity.js';
export {
  type DeviceDeleteFilter,
  DeviceStore,
  type ListedDevice,
  MAX_DEVICE_ID,
  type NewDevice,
  type StoredDevice,
} from './store/device-store.js';
export { InMemoryDeviceStore } from './store/in-memory-device.store.js';
export { LoginAttempt } from './sessions/login-attempt.js';
export {
  AddPermanentTokenLineage1764500000000,
  CreateJwtDevicesDevice1764400000000,
  JWT_DEVICES_MIGRATIONS,
  CreateUserRevocation1764700000000,
  UserIdNoPadCollation1764600000000,
} from './store/migrations/index.js';
export { MysqlUserRevocation, PostgresUserRevocation, UserRevocation, userRevocationEntityFor } from './store/user-revocation.entity.js';
export { TypeOrmDeviceStore } from './store/typeorm-device.store.js';
export { type DeviceJwtClaims, DeviceTokens } from './tokens/device-tokens.js';
export { DeviceSockets, JWT_DEVICES_CLOSE_CODES, JWT_DEVICES_DISCONNECT_EVENT, type SocketCloseReason } from './transports/device-sockets.js';
export { refusalFor } from './transports/transport-errors.js';
export { attachUpgradeRequest, type TransportRequest, transportRequest } from './transports/transport-request.js';
