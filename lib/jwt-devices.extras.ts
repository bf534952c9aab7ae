/** A route group of the module: `false` drops it; decorators (guards, throttling, docs) are added to its handlers. */
export type JwtDevicesRouteSetting = boolean | readonly MethodDecorator[];

/**
 * Which of the module's routes to serve, and what the app adds to them. Groups: `login`
 * (`POST /auth-token/`), `refresh` (`POST /device-refresh-token/`), `devices` (logout, list, rename and
 * the sign-outs).
 *
 * @example Throttle login with `@nestjs/throttler` (its guard runs before the module's own):
 * ```ts
 * routes: { login: [UseGuards(ThrottlerGuard), Throttle({ default: { limit: 10, ttl: 60_000 } })] }
 * ```
 */
export interface JwtDevicesRoutesOptions {
  login?: JwtDevicesRouteSetting;
  refresh?: JwtDevicesRouteSetting;
  devices?: JwtDevicesRouteSetting;
}

/**
 * Registration choices of `forRoot()`/`forRootAsync()`. They change what the module registers, so they
 * are static: pass them beside the options (or beside `useFactory` in `forRootAsync`).
 */
export interface JwtDevicesModuleExtras {
  /**
   * Register the module globally, so `JwtDevicesGuard`, `AuthGuard('jwt-devices')` and `DevicesService`
   * work in every module of the app with one import at the root.
   * @default true
   */
  isGlobal?: boolean;
  /**
   * The TypeORM database type of the DataSource (`'postgres'`, `'mysql'`, `'mariadb'`, `'better-sqlite3'`,
   * …). Given, the module registers the device entity for it with `TypeOrmModule.forFeature`, so
   * `autoLoadEntities: true` picks it up; without it, list `deviceEntityFor(type)` in the DataSource's
   * entities yourself. (The entity's column types depend on the database, and Nest collects entities
   * before the DataSource exists.)
   */
  database?: string;
  /**
   * Serve the module's HTTP routes (`/auth-token/`, `/device-refresh-token/`, `/device-logout/`, `/devices/`).
   * @default true
   */
  controller?: boolean;
  /**
   * Per route group (`login`, `refresh`, `devices`): `false` drops it; an array of decorators is added
   * to its handlers, e.g. `login: [UseGuards(ThrottlerGuard), Throttle({ default: { limit: 10, ttl: 60_000 } })]`
   * (the app's guards run before the module's own).
   * @default every group served as it is
   */
  routes?: JwtDevicesRoutesOptions;
  /**
   * The JSON field names of the login body, e.g. `{ username: 'email' }`. `users.validateUser` still
   * receives them as its two arguments.
   * @default { username: 'username', password: 'password' }
   */
  loginFields?: { username?: string; password?: string };
  /**
   * Path prefix of the module's routes, e.g. `'api'` for `/api/auth-token/`.
   * @default ''
   */
  path?: string;
  /**
   * Name of the TypeORM data source the `Device` entity lives in (as given to `TypeOrmModule.forRoot({ name })`).
   * @default the default data source
   */
  dataSource?: string;
}
