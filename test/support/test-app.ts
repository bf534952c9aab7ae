import { Controller, Get, type INestApplication, Inject, Injectable, type LoggerService, type LogLevel, Module, type ModuleMetadata, Post, type Provider, UseGuards } from '@nestjs/common';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test, type TestingModule } from '@nestjs/testing';
import { getDataSourceToken, TypeOrmModule, type TypeOrmModuleOptions } from '@nestjs/typeorm';
import request from 'supertest';
import type { DataSource } from 'typeorm';
import {
  type AuthenticatedDevice,
  CurrentDevice,
  type DeviceRecord,
  deviceEntityFor,
  JWT_DEVICES_MIGRATIONS,
  JwtDevicesClock,
  JwtDevicesGuard,
  type JwtDevicesModuleExtras,
  type JwtDevicesModuleOptions,
  JwtDevicesModule,
} from '../../lib/index.js';
import { createTestDatabase, type DatabaseKind, type TestDatabase } from './databases.js';
import { FakeClock } from './fake-clock.js';
import { type TestUser, TestUsers } from './users.js';

export const TEST_JWT_SECRET = 'test-secret-that-is-at-least-32-characters-long';

/** The ways an app can register the module; every one must boot and work. */
export type RegistrationForm = 'forRoot' | 'useFactory' | 'useClass' | 'useExisting';
export const REGISTRATION_FORMS: readonly RegistrationForm[] = ['forRoot', 'useFactory', 'useClass', 'useExisting'];

export interface TestAppSetup {
  /** Module options on top of `{ jwtSecret, users }`. */
  options?: Partial<JwtDevicesModuleOptions>;
  /** Static registration choices. */
  extras?: JwtDevicesModuleExtras;
  form?: RegistrationForm;
  /** The database to use; default: a fresh one of the Vitest project's kind (TEST_DATABASE). */
  database?: DatabaseKind;
  /** An existing database to share with another app (two instances of one app); not dropped on close. */
  sharedDatabase?: TestDatabase;
  /**
   * TypeORM options merged over the database's (e.g. a proxy's host and port, pool timeouts, a query
   * logger). The fresh database is still created and dropped on the real server.
   */
  typeorm?: Partial<TypeOrmModuleOptions>;
  /** The app's logger; default: errors and warnings to the console. */
  logger?: LoggerService;
  /** More of the app: modules (`GraphQLModule.forRoot(…)`) and providers (resolvers, gateways). */
  imports?: ModuleMetadata['imports'];
  providers?: Provider[];
  /** Runs on the app before it starts, e.g. `app.useWebSocketAdapter(new WsAdapter(app))`. */
  beforeInit?: (app: INestApplication) => void;
  /** Listen on a free port of 127.0.0.1 (sockets need a real server); `url` then says where. */
  listen?: boolean;
}

export interface TestApp {
  app: INestApplication;
  http: ReturnType<typeof request>;
  clock: FakeClock;
  users: TestUsers;
  dataSource: DataSource;
  database: TestDatabase;
  /** `http://127.0.0.1:<port>` when the app listens (`listen: true`). */
  url: string;
  /** The device entity of this app's database (`Device`, or `PostgresDevice` on PostgreSQL). */
  deviceEntity: ReturnType<typeof deviceEntityFor>;
  /** Every device row, as stored. */
  devices(): Promise<DeviceRecord[]>;
  close(): Promise<void>;
}

const OVERRIDES = Symbol('test module options');

/** An app's own routes, to check that the module's guards protect them as they do its own. */
@Controller()
class AppRoutesController {
  @Get('me')
  @UseGuards(JwtDevicesGuard)
  me(@CurrentDevice() device: AuthenticatedDevice): object {
    return { device };
  }

  @Get('public')
  publicGet(): object {
    return { ok: true };
  }

  @Post('public')
  publicPost(): object {
    return { ok: true };
  }
}

@Injectable()
class OptionsFactory {
  constructor(
    @Inject(TestUsers) private readonly users: TestUsers,
    @Inject(OVERRIDES) private readonly overrides: Partial<JwtDevicesModuleOptions>,
  ) {}

  createJwtDevicesOptions(): JwtDevicesModuleOptions {
    return { jwtSecret: TEST_JWT_SECRET, users: this.users, ...this.overrides };
  }
}

function usersModule(users: TestUsers, overrides: Partial<JwtDevicesModuleOptions>) {
  @Module({
    providers: [{ provide: TestUsers, useValue: users }, { provide: OVERRIDES, useValue: overrides }, OptionsFactory],
    exports: [TestUsers, OVERRIDES, OptionsFactory],
  })
  class UsersModule {}
  return UsersModule;
}

function jwtDevicesModule(form: RegistrationForm, users: TestUsers, setup: TestAppSetup, database: TestDatabase) {
  const overrides = setup.options ?? {};
  // The module registers its entity for autoLoadEntities, as the README tells apps to do.
  const extras = { database: database.options.type, ...setup.extras };
  const UsersModule = usersModule(users, overrides);
  switch (form) {
    case 'forRoot':
      return JwtDevicesModule.forRoot({ jwtSecret: TEST_JWT_SECRET, users, ...overrides, ...extras });
    case 'useFactory':
      return JwtDevicesModule.forRootAsync({
        imports: [UsersModule],
        inject: [TestUsers, OVERRIDES],
        useFactory: (injected: TestUsers, injectedOverrides: Partial<JwtDevicesModuleOptions>) => ({
          jwtSecret: TEST_JWT_SECRET,
          users: injected,
          ...injectedOverrides,
        }),
        ...extras,
      });
    case 'useClass':
      return JwtDevicesModule.forRootAsync({ imports: [UsersModule], useClass: OptionsFactory, ...extras });
    case 'useExisting':
      return JwtDevicesModule.forRootAsync({ imports: [UsersModule], useExisting: OptionsFactory, ...extras });
  }
}

/**
 * A real Nest app with the module on a fresh database of the project's kind (SQLite in memory, or a
 * new PostgreSQL schema / MariaDB database), migrated by the shipped migrations.
 */
export async function createTestApp(setup: TestAppSetup = {}): Promise<TestApp> {
  const users = new TestUsers();
  const clock = new FakeClock();
  const dataSourceName = setup.extras?.dataSource;
  const database = setup.sharedDatabase ?? (await createTestDatabase(setup.database));
  const dropDatabase = () => (setup.sharedDatabase ? Promise.resolve() : database.drop());
  let app: INestApplication;
  try {
    app = await bootstrap(setup, users, clock, database);
  } catch (error) {
    await dropDatabase();
    throw error;
  }
  const dataSource = app.get<DataSource>(getDataSourceToken(dataSourceName));
  const deviceEntity = deviceEntityFor(database.options.type);
  let url = '';
  if (setup.listen) {
    await app.listen(0, '127.0.0.1');
    url = (await app.getUrl()).replace('[::1]', '127.0.0.1').replace('localhost', '127.0.0.1');
  }
  return {
    app,
    url,
    http: request(app.getHttpServer()),
    clock,
    users,
    dataSource,
    database,
    deviceEntity,
    devices: () => dataSource.getRepository(deviceEntity).find({ order: { id: 'ASC' } }),
    async close() {
      await app.close();
      await dropDatabase();
    },
  };
}

async function bootstrap(setup: TestAppSetup, users: TestUsers, clock: FakeClock, database: TestDatabase): Promise<INestApplication> {
  const moduleRef = await Test.createTestingModule({
    imports: [
      TypeOrmModule.forRoot({
        ...database.options,
        ...(setup.typeorm as TypeOrmModuleOptions | undefined),
        name: setup.extras?.dataSource,
        autoLoadEntities: true,
        migrations: [...JWT_DEVICES_MIGRATIONS],
        migrationsRun: true,
        retryAttempts: 0,
      } as TypeOrmModuleOptions),
      usersModule(users, setup.options ?? {}),
      jwtDevicesModule(setup.form ?? 'forRoot', users, setup, database),
      ...(setup.imports ?? []),
    ],
    controllers: [AppRoutesController],
    providers: setup.providers ?? [],
  })
    .overrideProvider(JwtDevicesClock)
    .useValue(clock)
    .compile();
  return startApp(moduleRef, setup.logger ?? ['error', 'warn'], setup.beforeInit);
}

/** Starts a compiled test module as an HTTP app on the Vitest project's adapter (Express or Fastify). */
export async function startApp(
  moduleRef: TestingModule,
  logger: LoggerService | LogLevel[],
  beforeInit: (app: INestApplication) => void = () => undefined,
): Promise<INestApplication> {
  if (currentHttpAdapter() === 'fastify') {
    const app = moduleRef.createNestApplication<NestFastifyApplication>(fastifyAdapter(), { logger });
    beforeInit(app);
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
    return app;
  }
  const app = moduleRef.createNestApplication({ logger });
  beforeInit(app);
  return app.init();
}

/** The HTTP adapter of the running Vitest project: `express` (default) or `fastify` (TEST_HTTP_ADAPTER). */
export function currentHttpAdapter(): 'express' | 'fastify' {
  return process.env.TEST_HTTP_ADAPTER === 'fastify' ? 'fastify' : 'express';
}

/** A Fastify adapter as README tells users to make one: trailing slashes optional, as on Express. */
export function fastifyAdapter(): FastifyAdapter {
  return new FastifyAdapter({ routerOptions: { ignoreTrailingSlash: true } });
}

/** Logs `user` in and returns the response body. */
export async function login(
  t: TestApp,
  user: Pick<TestUser, 'username' | 'password'> = { username: 'alice', password: 'alice-password' },
  headers: Record<string, string> = {},
): Promise<{ token: string; permanent_token: string; device_id: number }> {
  const response = await t.http.post('/auth-token/').set(headers).send({ username: user.username, password: user.password });
  if (response.status !== 200) throw new Error(`login failed: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body;
}

export const ALICE = { username: 'alice', password: 'alice-password' };
export const BOB = { username: 'bob', password: 'bob-password' };
