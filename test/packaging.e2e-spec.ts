import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, type ExpectStatic, it } from 'vitest';
import { DATABASE_SERVERS } from './support/databases.js';
import { reachable } from './support/reachable.js';

/**
 * The published package as a stranger gets it: `npm pack`, then `npm install <tarball>` into freshly
 * generated apps in temp dirs outside the repo (so nothing resolves to the repo's node_modules), each
 * run as a child process against its own new PostgreSQL database, and the docs/CONTRACT.md flow walked
 * over HTTP:
 *
 *   nest12-esm   Nest 12, plain `.mjs`, decorators applied as functions, `forRootAsync` with an
 *                injected UsersService, migrations run at start-up (`migrationsRun: true`).
 *   nest12-cjs   Nest 12, plain `.cjs`: `require('nestjs-jwt-devices')` through Node's require(esm),
 *                `forRoot`, migrations by the real `typeorm migration:run -d data-source.cjs` CLI.
 *   nest11-cjs   Nest 11 + @nestjs/typeorm 11 + TypeORM 0.3 in a `"type": "commonjs"` TypeScript app
 *                compiled by the repo's tsc (module nodenext, strict: the package's .d.ts type-check
 *                against Nest 11's), migrations by `npx typeorm migration:run -d dist/data-source.js`
 *                with README's data-source.ts, word for word.
 *
 * The tarball is packed from a staging copy of the package (package.json, README.md, LICENSE and a
 * fresh `npm run build -- --outDir <stage>/dist`) with `npm pack --ignore-scripts`: `files` in
 * package.json decides what goes in, exactly as for `npm pack` in the repo, but the shared dist/ is
 * not rewritten under the other Vitest projects that read it.
 *
 * Runs only in the e2e:sqlite project (the apps bring their own PostgreSQL database, so once is
 * enough). Needs PostgreSQL and the npm registry; without them it is skipped with the reason in its
 * title, and under CI=true it fails instead.
 */

const ROOT = resolve(import.meta.dirname, '..');
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const PACKAGE = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string };
const JWT_SECRET = 'packaging-test-secret-that-is-long-enough-0123456789';
const MIGRATIONS = ['CreateJwtDevicesDevice1764400000000', 'AddPermanentTokenLineage1764500000000', 'UserIdNoPadCollation1764600000000', 'CreateUserRevocation1764700000000'];
const ENABLED = process.env.TEST_DATABASE === 'sqlite';
/**
 * The optional peers: the package must load without them (the apps below install none), so lib/ may
 * load them only lazily, where a feature that needs them runs (`import()`), never at module load.
 */
const OPTIONAL_PEERS = ['ioredis', '@nestjs/graphql', '@nestjs/websockets'];
/** What an app brings along with the optional peers, which the package must not load statically either. */
const OPTIONAL_COMPANIONS = ['graphql', '@nestjs/apollo', '@nestjs/mercurius', '@nestjs/platform-ws', '@nestjs/platform-socket.io', 'ws', 'socket.io'];
const POSTGRES = DATABASE_SERVERS.postgres;

/**
 * The environment for child processes: ours without the `npm_*` variables `npm test` sets for its own
 * package (`npm_config_local_prefix=<the repo>`, `npm_package_*`…), which would make an `npm install`
 * in an app dir act on the repo. Registry, cache and TLS settings stay.
 */
function childEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const keep = /^npm_config_(registry|cache|userconfig|globalconfig|cafile|ca|strict_ssl|proxy|https_proxy|noproxy|@.*:registry|\/\/.*)$/i;
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!/^npm_/i.test(key) || keep.test(key)) env[key] = value;
  return { ...env, ...extra };
}

/** Why the suite cannot run here (PostgreSQL or the registry unreachable), or null. */
async function unavailable(): Promise<string | null> {
  if (!(await reachable(POSTGRES))) return `no PostgreSQL at ${POSTGRES.host}:${POSTGRES.port}`;
  try {
    execFileSync('npm', ['ping', '--fetch-retries=0', '--fetch-timeout=10000'], { env: childEnv(), stdio: 'pipe', timeout: 20_000 });
  } catch (error) {
    const stderr = String((error as { stderr?: Buffer }).stderr ?? '');
    const registry = /PING (\S+)/.exec(stderr)?.[1] ?? 'the npm registry';
    const why = stderr.split('\n').find((line) => /npm error (code|errno|network)/.test(line)) ?? (error as Error).message.split('\n')[0];
    return `${registry} does not answer \`npm ping\` (${why!.trim()})`;
  }
  return null;
}

const SKIP_REASON = ENABLED ? await unavailable() : null;
if (SKIP_REASON && process.env.CI) {
  throw new Error(`CI=true but ${SKIP_REASON}: the packaging test needs PostgreSQL and the npm registry.`);
}

// ---------------------------------------------------------------------------------------------------
// Processes, databases, temp dirs

interface Run {
  code: number;
  stdout: string;
  /** Command line, stdout and stderr, for failure messages. */
  output: string;
}

function run(command: string, args: string[], { cwd, env = {}, timeout = 150_000 }: { cwd: string; env?: NodeJS.ProcessEnv; timeout?: number }): Promise<Run> {
  return new Promise((settle) => {
    execFile(command, args, { cwd, env: childEnv(env), timeout, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      settle({ code, stdout, output: `$ ${command} ${args.join(' ')}  (in ${cwd})\n${stdout}${stderr}${error && code === -1 ? String(error) : ''}` });
    });
  });
}

async function runOk(command: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv; timeout?: number }): Promise<Run> {
  const result = await run(command, args, options);
  if (result.code !== 0) throw new Error(`exit code ${result.code}\n${result.output}`);
  return result;
}

const tempDirs = new Set<string>();
function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

interface Database {
  name: string;
  url: string;
  /** A connection to this database, for checks. */
  query<T>(sql: string): Promise<T[]>;
  drop(): Promise<void>;
}

const databases = new Set<Database>();

async function withConnection<T>(database: string, work: (source: DataSource) => Promise<T>): Promise<T> {
  const source = new DataSource({ type: 'postgres', ...POSTGRES, database });
  await source.initialize();
  try {
    return await work(source);
  } finally {
    await source.destroy();
  }
}

async function createDatabase(): Promise<Database> {
  const name = `jwt_devices_pkg_${randomBytes(6).toString('hex')}`;
  await withConnection(POSTGRES.database, (admin) => admin.query(`CREATE DATABASE "${name}"`));
  const credentials = encodeURIComponent(POSTGRES.username) + (POSTGRES.password ? `:${encodeURIComponent(POSTGRES.password)}` : '');
  const database: Database = {
    name,
    url: `postgres://${credentials}@${POSTGRES.host}:${POSTGRES.port}/${name}`,
    query: (sql) => withConnection(name, (source) => source.query(sql)),
    async drop() {
      databases.delete(database);
      await withConnection(POSTGRES.database, (admin) => admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
    },
  };
  databases.add(database);
  return database;
}

interface Server {
  base: string;
  output(): string;
  stop(): Promise<void>;
}

const servers = new Set<Server>();

/** Starts `node <entry>` in `cwd` on a free port and waits for its `LISTENING <port>` line. */
function startServer(cwd: string, entry: string, env: NodeJS.ProcessEnv): Promise<Server> {
  const child: ChildProcess = spawn(process.execPath, [entry], { cwd, env: childEnv({ ...env, PORT: '0' }), stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const exited = new Promise<void>((settle) => child.once('exit', () => settle()));
  const server: Server = {
    base: '',
    output: () => output,
    async stop() {
      servers.delete(server);
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
  servers.add(server);
  return new Promise((settle, fail) => {
    const timer = setTimeout(() => void server.stop().then(() => fail(new Error(`${entry} did not start within 30 s:\n${output}`))), 30_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const port = /LISTENING (\d+)/.exec(output)?.[1];
      if (port && !server.base) {
        clearTimeout(timer);
        settle(Object.assign(server, { base: `http://127.0.0.1:${port}` }));
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (!server.base) fail(new Error(`${entry} exited (${code ?? signal}) before listening:\n${output}`));
    });
  });
}

// ---------------------------------------------------------------------------------------------------
// The tarball

interface Packed {
  tarball: string;
  size: number;
  unpackedSize: number;
  files: string[];
  /** The staged package dir, as packed. */
  stage: string;
}

let packed: Packed;

async function pack(): Promise<Packed> {
  const stage = join(tempDir('jwt-devices-pack-'), 'package');
  mkdirSync(stage);
  await runOk('npm', ['run', '--silent', 'build', '--', '--outDir', join(stage, 'dist')], { cwd: ROOT });
  for (const file of ['package.json', 'README.md', 'LICENSE']) cpSync(join(ROOT, file), join(stage, file));
  const result = await runOk('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dirname(stage)], { cwd: stage });
  const [info] = JSON.parse(result.stdout) as { filename: string; size: number; unpackedSize: number; files: { path: string }[] }[];
  return {
    tarball: join(dirname(stage), info!.filename),
    size: info!.size,
    unpackedSize: info!.unpackedSize,
    files: info!.files.map((file) => file.path).sort(),
    stage,
  };
}

// ---------------------------------------------------------------------------------------------------
// The apps

/** One generated app: its dependencies, its files, and how its migrations run. */
interface AppSpec {
  name: string;
  /** A Jest e2e test to run in the app (as a Nest starter's `npm run test:e2e` does), after the walk. */
  jest?: boolean;
  packageJson: Record<string, unknown>;
  dependencies: string[];
  /** What the install must have resolved: package → version pattern. */
  versions: Record<string, RegExp>;
  files: Record<string, string>;
  /** Compile with the repo's tsc (`tsconfig.json` in the app) before anything runs. */
  compile?: boolean;
  /** The typeorm CLI arguments that run the migrations, or none when the app runs them itself. */
  migrationCli?: string[];
  entry: string;
}

const NEST_12 = ['@nestjs/common@^12', '@nestjs/core@^12', '@nestjs/platform-express@^12', '@nestjs/typeorm@^12', '@nestjs/jwt@^12', '@nestjs/passport@^12', 'typeorm@^1'];
const NEST_11 = [
  '@nestjs/common@^11',
  '@nestjs/core@^11',
  '@nestjs/platform-express@^11',
  '@nestjs/typeorm@^11',
  '@nestjs/jwt@^11',
  '@nestjs/passport@^11',
  'typeorm@^0.3.20',
  '@types/node@^20',
];
const COMMON = ['pg@^8', 'reflect-metadata@^0.2', 'rxjs@^7.8', 'passport@^0.7', 'class-validator@^0.15'];
/** What a Nest 11 starter tests with: `npm run test:e2e` is `jest --config ./test/jest-e2e.json`. */
const JEST = ['jest@^29', 'ts-jest@^29', '@types/jest@^29', '@nestjs/testing@^11', 'supertest@^7', '@types/supertest@^6', 'typescript@~5.8'];
const JEST_E2E: Record<string, string> = {
  // The Nest 11 starter's test/jest-e2e.json, unchanged: nothing special for this package.
  'test/jest-e2e.json': JSON.stringify(
    { moduleFileExtensions: ['js', 'json', 'ts'], rootDir: '.', testEnvironment: 'node', testRegex: '.e2e-spec.ts$', transform: { '^.+\\.(t|j)s$': 'ts-jest' } },
    null,
    2,
  ),
  'test/app.e2e-spec.ts': `import { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { AppModule } from '../src/app.module';

describe('nestjs-jwt-devices under Jest (CommonJS)', () => {
  let app: INestApplication;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
    app = moduleRef.createNestApplication();
    await app.init();
  });

  afterAll(async () => {
    await app.close();
  });

  it('logs in, reaches a guarded route, and signs out', async () => {
    const login = await request(app.getHttpServer()).post('/auth-token/').send({ username: 'alice', password: 'alice-password' }).expect(200);
    const auth = { Authorization: 'Bearer ' + login.body.token };
    await request(app.getHttpServer()).get('/me').set(auth).expect(200);
    await request(app.getHttpServer()).delete('/devices/').set(auth).expect(204);
    await request(app.getHttpServer()).get('/me').set(auth).expect(401);
  });
});
`,
};

const NEST_12_VERSIONS = { '@nestjs/common': /^12\./, '@nestjs/core': /^12\./, '@nestjs/typeorm': /^12\./, typeorm: /^1\./ };
const NEST_11_VERSIONS = { '@nestjs/common': /^11\./, '@nestjs/core': /^11\./, '@nestjs/typeorm': /^11\./, typeorm: /^0\.3\./ };

/**
 * A Nest app in plain JavaScript: no TypeScript, so decorators are applied as the functions they are,
 * in the order TypeScript's `__decorate` would apply them. `esm` imports the package, `cjs` requires it.
 */
function javaScriptApp(format: 'esm' | 'cjs', { registration, migrationsRun }: { registration: 'forRoot' | 'forRootAsync'; migrationsRun: boolean }): string {
  const imports =
    format === 'esm'
      ? `import 'reflect-metadata';
import { Controller, Get, Inject, Injectable, Module, Req, UseGuards } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { CurrentDevice, deviceEntityFor, JWT_DEVICES_MIGRATIONS, JwtDevicesGuard, JwtDevicesModule } from 'nestjs-jwt-devices';`
      : `'use strict';
require('reflect-metadata');
const { Controller, Get, Inject, Injectable, Module, Req, UseGuards } = require('@nestjs/common');
const { NestFactory } = require('@nestjs/core');
const { TypeOrmModule } = require('@nestjs/typeorm');
const { CurrentDevice, deviceEntityFor, JWT_DEVICES_MIGRATIONS, JwtDevicesGuard, JwtDevicesModule } = require('nestjs-jwt-devices');`;
  const jwtDevices =
    registration === 'forRoot'
      ? `JwtDevicesModule.forRoot({ jwtSecret: process.env.JWT_SECRET, users: new UsersService() })`
      : `JwtDevicesModule.forRootAsync({
      imports: [UsersModule],
      inject: [UsersService],
      useFactory: (users) => ({ jwtSecret: process.env.JWT_SECRET, users }),
    })`;
  return `${imports}

/** The app's users, in memory. */
const USERS = [
  { id: 1, username: 'alice', password: 'alice-password' },
  { id: 2, username: 'bob', password: 'bob-password' },
];
const publicUser = (user) => ({ id: user.id, username: user.username });

class UsersService {
  async validateUser(username, password) {
    const user = USERS.find((candidate) => candidate.username === username);
    return user && user.password === password ? publicUser(user) : null;
  }
  async findUser(userId) {
    const user = USERS.find((candidate) => String(candidate.id) === userId);
    return user ? publicUser(user) : null;
  }
}
Injectable()(UsersService);

class UsersModule {}
Module({ providers: [UsersService], exports: [UsersService] })(UsersModule);

class MeController {
  constructor(users) {
    this.users = users;
  }
  me(request, device) {
    return { username: request.user.username, device_id: device.id, injected: this.users instanceof UsersService };
  }
}
// @Inject(UsersService) on the constructor's parameter 0 (no emitted design:paramtypes here).
Inject(UsersService)(MeController, undefined, 0);
// @Get('me') @UseGuards(JwtDevicesGuard) me(@Req() request, @CurrentDevice() device)
Req()(MeController.prototype, 'me', 0);
CurrentDevice()(MeController.prototype, 'me', 1);
Object.defineProperty(
  MeController.prototype,
  'me',
  Reflect.decorate([Get('me'), UseGuards(JwtDevicesGuard)], MeController.prototype, 'me', Object.getOwnPropertyDescriptor(MeController.prototype, 'me')),
);
Controller()(MeController);

class AppModule {}
Module({
  imports: [
    TypeOrmModule.forRoot({
      type: 'postgres',
      url: process.env.DATABASE_URL,
      entities: [deviceEntityFor('postgres')],
      migrations: [...JWT_DEVICES_MIGRATIONS],
      migrationsRun: ${migrationsRun},
    }),
    UsersModule,
    ${jwtDevices},
  ],
  controllers: [MeController],
})(AppModule);

async function bootstrap() {
  const app = await NestFactory.create(AppModule, { logger: ['error', 'warn'] });
  app.enableShutdownHooks();
  await app.listen(Number(process.env.PORT), '127.0.0.1');
  console.log('LISTENING ' + app.getHttpServer().address().port);
}
bootstrap().catch((error) => {
  console.error(error);
  process.exit(1);
});
`;
}

/** README, "Migrations": its `// data-source.ts` block, word for word. */
function readmeDataSource(): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const block = /```ts\n(\/\/ data-source\.ts\n[\s\S]*?)```/.exec(readme.slice(readme.indexOf('## Migrations')))?.[1];
  if (!block?.includes("type: 'postgres'") || !block.includes('process.env.DATABASE_URL')) {
    throw new Error(`README.md, "Migrations": expected a \`\`\`ts block starting with // data-source.ts, for PostgreSQL at DATABASE_URL; got:\n${block}`);
  }
  return block;
}

/** A Nest 11 user's TypeScript app: the README's quick start, plus a guarded route. */
const TYPESCRIPT_APP: Record<string, string> = {
  // Nest 11's starter tsconfig (module nodenext), strict on top.
  'tsconfig.json': JSON.stringify(
    {
      compilerOptions: {
        module: 'nodenext',
        moduleResolution: 'nodenext',
        resolvePackageJsonExports: true,
        esModuleInterop: true,
        isolatedModules: true,
        declaration: false,
        removeComments: true,
        emitDecoratorMetadata: true,
        experimentalDecorators: true,
        target: 'ES2023',
        sourceMap: true,
        outDir: './dist',
        rootDir: './src',
        strict: true,
        skipLibCheck: true,
        types: ['node'],
      },
      include: ['src'],
    },
    null,
    2,
  ),
  'src/users.ts': `import { Injectable, Module } from '@nestjs/common';
import type { JwtDevicesUsers } from 'nestjs-jwt-devices';

export interface User {
  id: number;
  username: string;
}

const USERS = [
  { id: 1, username: 'alice', password: 'alice-password' },
  { id: 2, username: 'bob', password: 'bob-password' },
];

@Injectable()
export class UsersService implements JwtDevicesUsers<User> {
  async validateUser(username: string, password: string): Promise<User | null> {
    const user = USERS.find((candidate) => candidate.username === username);
    return user && user.password === password ? { id: user.id, username: user.username } : null;
  }

  async findUser(userId: string): Promise<User | null> {
    const user = USERS.find((candidate) => String(candidate.id) === userId);
    return user ? { id: user.id, username: user.username } : null;
  }
}

@Module({ providers: [UsersService], exports: [UsersService] })
export class UsersModule {}
`,
  'src/me.controller.ts': `import { Controller, Get, Req, UseGuards } from '@nestjs/common';
import { type AuthenticatedDevice, CurrentDevice, JwtDevicesGuard } from 'nestjs-jwt-devices';
import { type User, UsersService } from './users';

@Controller()
export class MeController {
  constructor(private readonly users: UsersService) {}

  @Get('me')
  @UseGuards(JwtDevicesGuard)
  me(@Req() request: { user: User }, @CurrentDevice() device: AuthenticatedDevice) {
    return { username: request.user.username, device_id: device.id, injected: this.users instanceof UsersService };
  }
}
`,
  'src/app.module.ts': `import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { deviceEntityFor, JWT_DEVICES_MIGRATIONS, JwtDevicesModule } from 'nestjs-jwt-devices';
import { MeController } from './me.controller';
import { UsersModule, UsersService } from './users';

@Module({
  imports: [
    TypeOrmModule.forRoot({
      type: 'postgres',
      url: process.env.DATABASE_URL,
      entities: [deviceEntityFor('postgres')],
      migrations: [...JWT_DEVICES_MIGRATIONS],
    }),
    UsersModule,
    JwtDevicesModule.forRootAsync({
      imports: [UsersModule],
      inject: [UsersService],
      useFactory: (users: UsersService) => ({ jwtSecret: process.env.JWT_SECRET!, users }),
    }),
  ],
  controllers: [MeController],
})
export class AppModule {}
`,
  'src/main.ts': `import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { AddressInfo } from 'node:net';
import { AppModule } from './app.module';

async function bootstrap(): Promise<void> {
  const app = await NestFactory.create(AppModule, { logger: ['error', 'warn'] });
  app.enableShutdownHooks();
  await app.listen(Number(process.env.PORT), '127.0.0.1');
  console.log('LISTENING ' + (app.getHttpServer().address() as AddressInfo).port);
}
bootstrap().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
`,
};

const APPS: AppSpec[] = [
  {
    name: 'nest12-esm',
    packageJson: { name: 'nest12-esm-app', private: true, type: 'module' },
    dependencies: [...NEST_12, ...COMMON],
    versions: NEST_12_VERSIONS,
    files: { 'main.mjs': javaScriptApp('esm', { registration: 'forRootAsync', migrationsRun: true }) },
    entry: 'main.mjs',
  },
  {
    name: 'nest12-cjs',
    packageJson: { name: 'nest12-cjs-app', private: true },
    dependencies: [...NEST_12, ...COMMON],
    versions: NEST_12_VERSIONS,
    files: {
      'main.cjs': javaScriptApp('cjs', { registration: 'forRoot', migrationsRun: false }),
      'data-source.cjs': `const { DataSource } = require('typeorm');
const { deviceEntityFor, JWT_DEVICES_MIGRATIONS } = require('nestjs-jwt-devices');

module.exports = new DataSource({
  type: 'postgres',
  url: process.env.DATABASE_URL,
  entities: [deviceEntityFor('postgres')],
  migrations: [...JWT_DEVICES_MIGRATIONS],
});
`,
    },
    migrationCli: ['migration:run', '-d', 'data-source.cjs'],
    entry: 'main.cjs',
  },
  {
    name: 'nest11-cjs',
    packageJson: { name: 'nest11-cjs-app', private: true, type: 'commonjs', scripts: { 'test:e2e': 'jest --config ./test/jest-e2e.json' } },
    dependencies: [...NEST_11, ...COMMON, ...JEST],
    versions: NEST_11_VERSIONS,
    files: { ...TYPESCRIPT_APP, 'src/data-source.ts': readmeDataSource(), ...JEST_E2E },
    compile: true,
    jest: true,
    // README: `npx typeorm migration:run -d dist/data-source.js` (`--no`: never download a typeorm).
    migrationCli: ['migration:run', '-d', 'dist/data-source.js'],
    entry: 'dist/main.js',
  },
];

// ---------------------------------------------------------------------------------------------------
// The walk: docs/CONTRACT.md's flow, over HTTP

interface Reply {
  status: number;
  body: any;
}

async function call(base: string, method: string, path: string, { headers = {}, json }: { headers?: Record<string, string>; json?: unknown } = {}): Promise<Reply> {
  const response = await fetch(base + path, {
    method,
    headers: { ...(json === undefined ? {} : { 'Content-Type': 'application/json' }), ...headers },
    body: json === undefined ? undefined : JSON.stringify(json),
  });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    // not JSON: keep the text
  }
  return { status: response.status, body };
}

const ISO_DATE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

async function walk(base: string, expect: ExpectStatic): Promise<void> {
  const step = (what: string, reply: Reply) => `${what}: ${reply.status} ${JSON.stringify(reply.body)}`;
  const login = (username: string, password: string, model: string) =>
    call(base, 'POST', '/auth-token/', { json: { username, password }, headers: { 'X-Device-Model': model, 'User-Agent': 'packaging-test/1.0' } });
  const bearer = (token: string, scheme = 'Bearer') => ({ Authorization: `${scheme} ${token}` });

  const alice = await login('alice', 'alice-password', 'Alice phone');
  expect(alice.status, step('alice logs in', alice)).toBe(200);
  expect(alice.body).toMatchObject({ token: expect.any(String), permanent_token: expect.any(String), device_id: expect.any(Number) });
  const wrong = await login('alice', 'bob-password', 'Nope');
  expect(wrong.status, step('wrong password', wrong)).toBe(400);

  // The app's own guarded route, with both prefixes; without a token it is 401.
  for (const scheme of ['Bearer', 'JWT']) {
    const me = await call(base, 'GET', '/me', { headers: bearer(alice.body.token, scheme) });
    expect(me.status, step(`GET /me with ${scheme}`, me)).toBe(200);
    expect(me.body).toEqual({ username: 'alice', device_id: alice.body.device_id, injected: true });
  }
  const anonymous = await call(base, 'GET', '/me');
  expect(anonymous.status, step('GET /me without a token', anonymous)).toBe(401);

  const list = await call(base, 'GET', '/devices/', { headers: bearer(alice.body.token) });
  expect(list.status, step('GET /devices/', list)).toBe(200);
  expect(list.body).toEqual([
    expect.objectContaining({
      id: alice.body.device_id,
      name: 'Alice phone',
      details: 'packaging-test/1.0',
      created: expect.stringMatching(ISO_DATE),
      last_request_datetime: expect.stringMatching(ISO_DATE),
    }),
  ]);

  const refreshed = await call(base, 'POST', '/device-refresh-token/', { headers: { 'Permanent-Token': alice.body.permanent_token } });
  expect(refreshed.status, step('refresh', refreshed)).toBe(200);
  expect(refreshed.body).toMatchObject({ token: expect.any(String) });
  const meRefreshed = await call(base, 'GET', '/me', { headers: bearer(refreshed.body.token) });
  expect(meRefreshed.status, step('GET /me with the refreshed JWT', meRefreshed)).toBe(200);

  // Permanent-Token anywhere but refresh: 400, on the app's route and the module's, with or without a JWT.
  for (const [path, headers] of [
    ['/me', bearer(alice.body.token)],
    ['/me', {}],
    ['/devices/', bearer(alice.body.token)],
  ] as const) {
    const refused = await call(base, 'GET', path, { headers: { ...headers, 'Permanent-Token': alice.body.permanent_token } });
    expect(refused.status, step(`GET ${path} carrying Permanent-Token`, refused)).toBe(400);
  }

  // Another user's device is not found, and stays.
  const bob = await login('bob', 'bob-password', 'Bob laptop');
  expect(bob.status, step('bob logs in', bob)).toBe(200);
  const foreign = await call(base, 'DELETE', `/devices/${bob.body.device_id}/`, { headers: bearer(alice.body.token) });
  expect(foreign.status, step("alice deletes bob's device", foreign)).toBe(404);
  const bobsList = await call(base, 'GET', '/devices/', { headers: bearer(bob.body.token) });
  expect(bobsList.body, step("bob's devices", bobsList)).toEqual([expect.objectContaining({ id: bob.body.device_id, name: 'Bob laptop' })]);

  // Device logout kills that device's JWTs and permanent token at once; bob is untouched.
  const logout = await call(base, 'DELETE', '/device-logout/', { headers: { ...bearer(alice.body.token, 'JWT'), 'Device-Id': String(alice.body.device_id) } });
  expect(logout.status, step('device logout', logout)).toBe(204);
  for (const token of [alice.body.token, refreshed.body.token]) {
    const dead = await call(base, 'GET', '/me', { headers: bearer(token) });
    expect(dead.status, step("GET /me with a logged-out device's JWT", dead)).toBe(401);
  }
  const deadRefresh = await call(base, 'POST', '/device-refresh-token/', { headers: { 'Permanent-Token': alice.body.permanent_token } });
  expect(deadRefresh.status, step("refresh with a logged-out device's permanent token", deadRefresh)).toBe(400);
  const bobMe = await call(base, 'GET', '/me', { headers: bearer(bob.body.token) });
  expect(bobMe.status, step('bob after alice logged out', bobMe)).toBe(200);
  expect(bobMe.body).toMatchObject({ username: 'bob', device_id: bob.body.device_id });
}

// ---------------------------------------------------------------------------------------------------

const timings: Record<string, Record<string, number>> = {};
const versions: Record<string, Record<string, string>> = {};

async function timed<T>(app: string, phase: string, work: () => Promise<T>): Promise<T> {
  const start = performance.now();
  try {
    return await work();
  } finally {
    (timings[app] ??= {})[phase] = Math.round(performance.now() - start);
  }
}

describe.runIf(ENABLED && !SKIP_REASON)(SKIP_REASON ? `packaging (skipped: ${SKIP_REASON})` : 'packaging: the npm tarball in freshly generated apps', () => {
  beforeAll(async () => {
    packed = await timed('tarball', 'build + pack', pack);
  }, 120_000);

  afterAll(async () => {
    const failures: unknown[] = [];
    for (const server of [...servers]) await server.stop().catch((error: unknown) => failures.push(error));
    for (const database of [...databases]) await database.drop().catch((error: unknown) => failures.push(error));
    for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
    tempDirs.clear();
    console.info(`[packaging] timings (ms): ${JSON.stringify(timings)}\n[packaging] versions: ${JSON.stringify(versions)}`);
    if (failures.length) throw new AggregateError(failures, 'packaging test cleanup failed');
  }, 60_000);

  it('packs only dist (JS, .d.ts with JSDoc, maps), README.md, LICENSE and package.json', ({ expect }) => {
    expect(packed.files).toContain('dist/index.js');
    expect(packed.files).toContain('dist/index.d.ts');
    expect(packed.files).toContain('dist/store/migrations/index.js');
    expect(packed.files).toEqual(expect.arrayContaining(['README.md', 'LICENSE', 'package.json']));
    const unexpected = packed.files.filter(
      (path) =>
        !['README.md', 'LICENSE', 'package.json', 'dist/cjs/package.json'].includes(path) && !/^dist\/.+\.(js|d\.ts|js\.map|d\.ts\.map)$/.test(path),
    );
    expect(unexpected, 'files outside dist/, README.md, LICENSE and package.json').toEqual([]);
    expect(packed.files.filter((path) => /\.spec\.|\.e2e-spec\./.test(path))).toEqual([]);
    expect(readFileSync(join(packed.stage, 'dist', 'store', 'device.entity.d.ts'), 'utf8')).toMatch(/\/\*\*[\s\S]*\*\/\s*export declare function deviceEntityFor/);
    console.info(`[packaging] ${PACKAGE.name}-${PACKAGE.version}.tgz: ${packed.files.length} files, ${packed.size} bytes packed, ${packed.unpackedSize} unpacked`);
  });

  it('declares the optional peers optional, and loads none of them (nor their companions) statically', ({ expect }) => {
    const manifest = JSON.parse(readFileSync(join(packed.stage, 'package.json'), 'utf8')) as {
      peerDependencies: Record<string, string>;
      peerDependenciesMeta: Record<string, { optional?: boolean }>;
    };
    for (const peer of OPTIONAL_PEERS) {
      expect(manifest.peerDependencies[peer], peer).toBeDefined();
      expect(manifest.peerDependenciesMeta[peer]?.optional, peer).toBe(true);
    }
    const names = [...OPTIONAL_PEERS, ...OPTIONAL_COMPANIONS].map((name) => name.replace(/[./]/g, '\\$&')).join('|');
    // ESM: a top-level import; CommonJS: a top-level require (a lazy import() compiles to a require inside a function).
    const staticLoad = new RegExp(
      `^(?:import [^;]*?from ['"](?:${names})['"]|import ['"](?:${names})['"]|(?:const|let|var) [^=]+= (?:__import(?:Star|Default)\\()?require\\(['"](?:${names})['"]\\))`,
      'm',
    );
    const offenders = packed.files
      .filter((path) => path.endsWith('.js'))
      .filter((path) => staticLoad.test(readFileSync(join(packed.stage, path), 'utf8')));
    expect(offenders, 'built files that load an optional peer at module load').toEqual([]);
  });

  // The three apps install and run side by side (each has its own dir, database and port).
  it.concurrent.for(APPS)('$name: installs the tarball, migrates, and serves the CONTRACT.md flow', { timeout: 180_000 }, async (spec, { expect }) => {
    const dir = tempDir(`jwt-devices-${spec.name}-`);
    const database = await createDatabase();
    let server: Server | undefined;
    try {
      writeFileSync(join(dir, 'package.json'), JSON.stringify(spec.packageJson, null, 2));
      // --ignore-scripts: nothing here needs an install script (pg is pure JS); none run unasked.
      await timed(spec.name, 'npm install', () =>
        runOk('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--ignore-scripts', packed.tarball, ...spec.dependencies], { cwd: dir }),
      );
      const installed = Object.fromEntries(
      Object.keys(spec.versions).map((name) => [name, (JSON.parse(readFileSync(join(dir, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version]),
    );
    versions[spec.name] = installed;
    for (const [name, pattern] of Object.entries(spec.versions)) expect(installed[name], `${name} in ${spec.name}`).toMatch(pattern);
    // npm installs required peers by itself, never optional ones: the walk below runs without them.
    for (const peer of OPTIONAL_PEERS) expect(existsSync(join(dir, 'node_modules', peer)), `${peer} installed in ${spec.name}`).toBe(false);
    for (const [file, source] of Object.entries(spec.files)) {
        mkdirSync(dirname(join(dir, file)), { recursive: true });
        writeFileSync(join(dir, file), source);
      }
      if (spec.compile) await timed(spec.name, 'tsc', () => runOk(process.execPath, [TSC, '-p', 'tsconfig.json'], { cwd: dir }));
      const env = { DATABASE_URL: database.url, JWT_SECRET };
      if (spec.migrationCli) {
        await timed(spec.name, 'typeorm migration:run', () => runOk('npx', ['--no', 'typeorm', ...spec.migrationCli!], { cwd: dir, env }));
        const ran = await database.query<{ name: string }>('SELECT name FROM migrations');
        expect(ran.map((row) => row.name)).toEqual(MIGRATIONS);
      }
      server = await timed(spec.name, 'start', () => startServer(dir, spec.entry, env));
      await timed(spec.name, 'walk', () => walk(server!.base, expect)).catch((error: Error) => {
        error.message += `\n--- ${spec.name} output ---\n${server!.output()}`;
        throw error;
      });

      const migrations = await database.query<{ name: string }>('SELECT name FROM migrations');
      expect(migrations.map((row) => row.name)).toEqual(MIGRATIONS);
      const devices = await database.query<{ user_id: string; name: string }>('SELECT user_id, name FROM jwt_devices_device ORDER BY id');
      expect(devices).toEqual([{ user_id: '2', name: 'Bob laptop' }]);
      expect(server.output(), 'the app logged errors or warnings').not.toMatch(/ERROR|WARN/);
      if (spec.jest) {
        // The CommonJS build: Jest's module loader cannot load ES modules, so this fails on an ESM-only package.
        const jest = await timed(spec.name, 'npm run test:e2e', () => run('npm', ['run', 'test:e2e'], { cwd: dir, env }));
        expect(jest.code, `jest e2e:\n${jest.output}`).toBe(0);
      }
    } finally {
      await server?.stop();
      await database.drop();
      rmSync(dir, { recursive: true, force: true });
      tempDirs.delete(dir);
    }
  });
});
