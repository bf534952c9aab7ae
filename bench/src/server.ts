/**
 * One benchmark server: a Nest app on Express or Fastify and SQLite or PostgreSQL, serving every
 * measured route side by side. Started by bench/src/run.ts with `child_process.fork` (plain `node`
 * on the compiled JS), configured by the BENCH_SERVER_CONFIG environment variable, and talked to over
 * the IPC channel only (see protocol.ts): the HTTP port carries nothing but the measured requests.
 */
import 'reflect-metadata';
import { createSecretKey } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { type CanActivate, Controller, type DynamicModule, Get, Injectable, Module, Req, UseGuards } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AuthGuard, PassportStrategy } from '@nestjs/passport';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { TypeOrmModule, type TypeOrmModuleOptions } from '@nestjs/typeorm';
import { DEVICE_TABLE, deviceEntityFor, JWT_DEVICES_MIGRATIONS, JwtDevicesGuard, JwtDevicesModule, type JwtDevicesModuleOptions } from 'nestjs-jwt-devices';
import { ExtractJwt, Strategy as JwtStrategy } from 'passport-jwt';
import { DataSource, type Logger as TypeOrmLogger } from 'typeorm';
import { RAW_TABLE, RawDriverController } from './raw-driver.js';
import { BENCH_USER, type FromServer, JWT_SECRET, type ServerConfig, type ToServer } from './protocol.js';

/** Counts the SQL statements TypeORM sends (every query passes through `logQuery`), so the bench can report SQL/request. */
class CountingLogger implements TypeOrmLogger {
  queries = 0;
  /** BENCH_LOG_SQL=1 prints every statement: to see what a route sends. */
  private readonly print = process.env.BENCH_LOG_SQL === '1';
  logQuery(query: string, parameters?: unknown[]): void {
    this.queries++;
    if (this.print) console.error(`[bench server] ${query} ${JSON.stringify(parameters ?? [])}`);
  }
  logQueryError(error: string | Error): void {
    console.error(`[bench server] query failed: ${error instanceof Error ? error.message : error}`);
  }
  logQuerySlow(): void {}
  logSchemaBuild(): void {}
  logMigration(): void {}
  log(level: 'log' | 'info' | 'warn', message: unknown): void {
    if (level === 'warn') console.warn(`[bench server] ${String(message)}`);
  }
}

/** The app's users, trivial on purpose so the module's own cost is what gets measured. */
const benchUsers: JwtDevicesModuleOptions['users'] = {
  validateUser: (username, password) =>
    username === BENCH_USER.username && password === BENCH_USER.password ? { id: BENCH_USER.id, username: BENCH_USER.username } : null,
  findUser: (id) => ({ id }),
};

const MODULE_OPTIONS: JwtDevicesModuleOptions = {
  jwtSecret: JWT_SECRET,
  users: benchUsers,
  jwtExpiration: '1h',
  permanentTokenExpiration: '30d',
  // Large, so a refresh never writes last_request_datetime during the run: refresh = one indexed read.
  permanentTokenExpirationAccuracy: '1d',
};

/** Nest's floor for any guard. */
@Injectable()
class NoopGuard implements CanActivate {
  canActivate(): boolean {
    return true;
  }
}

const STRING_STRATEGY = 'bench-jwt-string';
const KEY_OBJECT_STRATEGY = 'bench-jwt-keyobject';

interface BaselineClaims {
  user_id: string;
}

/** `@nestjs/passport` + `passport-jwt` with a string secret, the way most apps configure it today. */
@Injectable()
class JwtStringStrategy extends PassportStrategy(JwtStrategy, STRING_STRATEGY) {
  constructor() {
    super({ jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(), secretOrKey: JWT_SECRET, algorithms: ['HS256'] });
  }
  validate(payload: BaselineClaims): { id: string } {
    return { id: payload.user_id };
  }
}

/**
 * The same with a `KeyObject`. passport-jwt hands `secretOrKey` unchanged to jsonwebtoken's `verify`,
 * which uses a `KeyObject` as it is (a string is first tried as a PEM public key, then wrapped with
 * `createSecretKey`, on every request). The typings say `string | Buffer` only, hence the cast.
 */
@Injectable()
class JwtKeyObjectStrategy extends PassportStrategy(JwtStrategy, KEY_OBJECT_STRATEGY) {
  constructor() {
    super({
      jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
      secretOrKey: createSecretKey(Buffer.from(JWT_SECRET, 'utf8')) as unknown as Buffer,
      algorithms: ['HS256'],
    });
  }
  validate(payload: BaselineClaims): { id: string } {
    return { id: payload.user_id };
  }
}

interface BenchRequest {
  user?: { id: string };
  jwtDevice?: { id: number | null };
}

/** What every measured GET answers: who the guard said the caller is (nulls on the open routes). */
function reply(request: BenchRequest): { user: string | null; device: number | null } {
  return { user: request.user?.id ?? null, device: request.jwtDevice?.id ?? null };
}

@Controller()
class BenchController {
  @Get('open')
  open(@Req() request: BenchRequest) {
    return reply(request);
  }

  @Get('noop')
  @UseGuards(NoopGuard)
  noop(@Req() request: BenchRequest) {
    return reply(request);
  }

  @Get('passport-string')
  @UseGuards(AuthGuard(STRING_STRATEGY))
  passportString(@Req() request: BenchRequest) {
    return reply(request);
  }

  @Get('passport-keyobject')
  @UseGuards(AuthGuard(KEY_OBJECT_STRATEGY))
  passportKeyObject(@Req() request: BenchRequest) {
    return reply(request);
  }

  /** The module's guard with its device cache on (the default): a warm device costs no query. */
  @Get('me')
  @UseGuards(JwtDevicesGuard)
  me(@Req() request: BenchRequest) {
    return reply(request);
  }
}

/** The module's guard from a second registration with the device cache off: one indexed read per request. */
@Controller('cold')
class ColdController {
  @Get('me')
  @UseGuards(JwtDevicesGuard)
  me(@Req() request: BenchRequest) {
    return reply(request);
  }
}

@Module({})
class ColdModule {
  static register(): DynamicModule {
    return {
      module: ColdModule,
      imports: [JwtDevicesModule.forRoot({ ...MODULE_OPTIONS, deviceCacheTtl: 0, permittedHeadersGuard: false, controller: false, isGlobal: false })],
      controllers: [ColdController],
    };
  }
}

@Module({})
class BenchAppModule {
  static register(config: ServerConfig, logger: TypeOrmLogger): DynamicModule {
    const { database } = config;
    const connection: TypeOrmModuleOptions =
      database.kind === 'sqlite'
        ? { type: 'better-sqlite3', database: database.file, enableWAL: database.wal }
        : {
            type: 'postgres',
            host: database.host,
            port: database.port,
            username: database.user,
            password: database.password,
            database: database.database,
            schema: database.schema,
          };
    return {
      module: BenchAppModule,
      imports: [
        TypeOrmModule.forRoot({ ...connection, entities: [deviceEntityFor(connection.type)], migrations: [...JWT_DEVICES_MIGRATIONS], migrationsRun: true, logger }),
        // Defaults otherwise: PermittedHeadersGuard is global, so it runs on every route of this app, open ones included.
        JwtDevicesModule.forRoot(MODULE_OPTIONS),
        ColdModule.register(),
      ],
      controllers: [BenchController, RawDriverController],
      providers: [NoopGuard, JwtStringStrategy, JwtKeyObjectStrategy, { provide: RAW_TABLE, useValue: tableName(config) }],
    };
  }
}

function tableName(config: ServerConfig): string {
  return config.database.kind === 'postgres' ? `"${config.database.schema}"."${DEVICE_TABLE}"` : `"${DEVICE_TABLE}"`;
}

/**
 * Inserts `fillerRows` devices with one statement (SQLite: a recursive CTE; PostgreSQL: generate_series),
 * each with a unique 64-hex permanent-token hash. The secondary indexes are dropped first and rebuilt
 * after, from their own definitions, which is several times faster than growing them row by row.
 */
async function seed(dataSource: DataSource, config: ServerConfig): Promise<void> {
  const table = tableName(config);
  const columns = '(user_id, permanent_token_hash, jwt_secret, name, details, created, last_request_datetime)';
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    if (config.database.kind === 'sqlite') {
      const indexes: { name: string; sql: string }[] = await runner.query(
        `SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL`,
        [DEVICE_TABLE],
      );
      for (const { name } of indexes) await runner.query(`DROP INDEX "${name}"`);
      // TypeORM's own format for a Date in a SQLite datetime column.
      const now = new Date().toISOString().replace('T', ' ').replace('Z', '');
      await runner.query(
        `WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < ?)
         INSERT INTO ${table} ${columns}
         SELECT 'filler-' || (i % 1000), lower(hex(randomblob(32))), lower(hex(randomblob(32))), 'bench filler', '', ?, ? FROM seq`,
        [config.fillerRows, now, now],
      );
      for (const { sql } of indexes) await runner.query(sql);
    } else {
      const { schema } = config.database;
      const indexes: { indexname: string; indexdef: string }[] = await runner.query(
        `SELECT indexname, indexdef FROM pg_indexes
         WHERE schemaname = $1 AND tablename = $2
           AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE connamespace = $1::regnamespace)`,
        [schema, DEVICE_TABLE],
      );
      for (const { indexname } of indexes) await runner.query(`DROP INDEX "${schema}"."${indexname}"`);
      await runner.query(
        `INSERT INTO ${table} ${columns}
         SELECT 'filler-' || (i % 1000), a || b, b || a, 'bench filler', '', now(), now()
         FROM (SELECT i, md5(i::text) AS a, md5((i + 1000000007)::text) AS b FROM generate_series(1, $1::int) AS i) AS s`,
        [config.fillerRows],
      );
      await runner.query(`SET maintenance_work_mem = '256MB'`);
      for (const { indexdef } of indexes) await runner.query(indexdef);
      await runner.query(`RESET maintenance_work_mem`);
      await runner.query(`ANALYZE ${table}`);
    }
  } finally {
    await runner.release();
  }
}

async function databaseVersion(dataSource: DataSource, config: ServerConfig): Promise<string> {
  if (config.database.kind === 'sqlite') {
    const [row] = (await dataSource.query('SELECT sqlite_version() AS v')) as { v: string }[];
    return `SQLite ${row?.v} (better-sqlite3)`;
  }
  const [row] = (await dataSource.query('SHOW server_version')) as { server_version: string }[];
  return `PostgreSQL ${row?.server_version}`;
}

function send(message: FromServer): void {
  process.send?.(message);
}

async function main(): Promise<void> {
  const config = JSON.parse(process.env.BENCH_SERVER_CONFIG ?? 'null') as ServerConfig;
  if (!config || !process.send) throw new Error('bench/dist/server.js is started by bench/dist/run.js (npm run bench).');
  const logger = new CountingLogger();
  // Fastify 5's place for `ignoreTrailingSlash` (the top-level option still works, with a deprecation warning).
  const adapter = config.adapter === 'fastify' ? new FastifyAdapter({ routerOptions: { ignoreTrailingSlash: true } }) : new ExpressAdapter();
  const app = await NestFactory.create(BenchAppModule.register(config, logger), adapter, { logger: ['error', 'warn'] });
  await app.init();
  const dataSource = app.get(DataSource);
  const seedStart = performance.now();
  if (config.fillerRows > 0) await seed(dataSource, config);
  const seedMs = performance.now() - seedStart;
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;

  process.on('message', (message: ToServer) => {
    switch (message.type) {
      case 'usage': {
        const { user, system } = process.cpuUsage();
        send({ type: 'usage', id: message.id, user, system, queries: logger.queries, monotonicUs: String(process.hrtime.bigint() / 1000n) });
        break;
      }
      case 'prune':
        dataSource
          .query(`DELETE FROM ${tableName(config)} WHERE id > ${Number(message.keepUpToId)}`)
          .then(() => send({ type: 'pruned', id: message.id }))
          .catch((error: Error) => send({ type: 'failed', message: `prune: ${error.message}` }));
        break;
      case 'stop':
        // A normal exit, so `--cpu-prof` writes its profile.
        app.close().finally(() => process.exit(0));
        break;
    }
  });
  process.on('disconnect', () => process.exit(0));
  send({ type: 'ready', port, seedMs, databaseVersion: await databaseVersion(dataSource, config) });
}

main().catch((error: Error) => {
  send({ type: 'failed', message: error.stack ?? error.message });
  process.exitCode = 1;
  setTimeout(() => process.exit(1), 100);
});
