/**
 * The raw-driver baseline: Nest routes on the same bench server doing the database work of the module's
 * routes straight through better-sqlite3 / pg with a prepared statement, and HS256 with a `KeyObject`,
 * with no module, no TypeORM query and no passport. The report gives each module route's CPU per request
 * as a ratio to its baseline here: what the module costs on top of the driver.
 */
import { createHash, createHmac, createSecretKey, randomBytes, timingSafeEqual } from 'node:crypto';
import { Body, Controller, Get, Headers, HttpCode, HttpException, Inject, Post } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { BENCH_USER } from './protocol.js';

/** Injection token of the device table's qualified name (`"schema"."jwt_devices_device"` on PostgreSQL). */
export const RAW_TABLE = 'BENCH_RAW_TABLE';

interface Row {
  id: number;
  user_id: string;
  jwt_secret: string;
  permanent_token_hash: string;
  previous_token_hash: string | null;
  created: unknown;
  last_request_datetime: unknown;
  rotated_at: unknown;
}

interface RawDatabase {
  byId(id: number): Promise<Row | undefined>;
  byHash(hash: string): Promise<Row | undefined>;
  /** userId, hash, secret, name, details, created → id. */
  insert(values: [string, string, string, string, string, Date]): Promise<number>;
}

const COLUMNS = 'id, user_id, jwt_secret, permanent_token_hash, previous_token_hash, created, last_request_datetime, rotated_at';

function rawDatabase(dataSource: DataSource, table: string): RawDatabase {
  const driver = dataSource.driver as unknown as Record<string, any>;
  const insertSql = `INSERT INTO ${table} (user_id, permanent_token_hash, jwt_secret, name, details, created, last_request_datetime)`;
  if (dataSource.options.type === 'better-sqlite3') {
    const db = driver.databaseConnection;
    const byId = db.prepare(`SELECT ${COLUMNS} FROM ${table} WHERE id = ? LIMIT 1`);
    const byHash = db.prepare(`SELECT ${COLUMNS} FROM ${table} WHERE permanent_token_hash = ? LIMIT 1`);
    const insert = db.prepare(`${insertSql} VALUES (?, ?, ?, ?, ?, ?, ?)`);
    const utc = (date: Date) => date.toISOString().replace('T', ' ').replace('Z', '');
    return {
      byId: async (id) => byId.get(id),
      byHash: async (hash) => byHash.get(hash),
      insert: async ([userId, hash, secret, name, details, created]) =>
        Number(insert.run(userId, hash, secret, name, details, utc(created), utc(created)).lastInsertRowid),
    };
  }
  const pool = driver.master;
  const one = async (name: string, text: string, values: unknown[]) => (await pool.query({ name, text, values })).rows[0];
  return {
    byId: (id) => one('raw_by_id', `SELECT ${COLUMNS} FROM ${table} WHERE id = $1 LIMIT 1`, [id]),
    byHash: (hash) => one('raw_by_hash', `SELECT ${COLUMNS} FROM ${table} WHERE permanent_token_hash = $1 LIMIT 1`, [hash]),
    insert: async ([userId, hash, secret, name, details, created]) =>
      Number((await one('raw_insert', `${insertSql} VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id`, [userId, hash, secret, name, details, created])).id),
  };
}

const HEADER = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');

function sign(claims: object, secretHex: string): string {
  const input = `${HEADER}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  return `${input}.${createHmac('sha256', createSecretKey(Buffer.from(secretHex, 'hex'))).update(input).digest('base64url')}`;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

@Controller('raw')
export class RawDriverController {
  private readonly db: RawDatabase;

  constructor(@Inject(DataSource) dataSource: DataSource, @Inject(RAW_TABLE) table: string) {
    this.db = rawDatabase(dataSource, table);
  }

  /** The cache-off guard's work: the JWT's device read by primary key, then an HS256 check with a KeyObject. */
  @Get('cold')
  async cold(@Headers('authorization') authorization = '') {
    const token = authorization.slice(authorization.indexOf(' ') + 1);
    const [header = '', payload = '', signature = ''] = token.split('.');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as { device_id?: string; user_id?: string };
    const row = await this.db.byId(Number(claims.device_id));
    if (!row) throw new HttpException('Unauthorized', 401);
    const expected = createHmac('sha256', createSecretKey(Buffer.from(row.jwt_secret, 'hex'))).update(`${header}.${payload}`).digest();
    const given = Buffer.from(signature, 'base64url');
    // The module's key is derived from the secret, so this comparison fails: the work is what is measured.
    const valid = given.length === expected.length && timingSafeEqual(given, expected);
    return { user: row.user_id, device: row.id, valid };
  }

  /** Refresh's work (the token in `Raw-Permanent-Token`: the module's global guard refuses `Permanent-Token` on other routes): its hash read by its unique index, then a JWT signed with a KeyObject. */
  @Post('refresh')
  @HttpCode(200)
  async refresh(@Headers('raw-permanent-token') permanentToken = '') {
    const row = await this.db.byHash(sha256(permanentToken));
    if (!row) throw new HttpException('Bad Request', 400);
    const iat = Math.floor(Date.now() / 1000);
    return { token: sign({ user_id: row.user_id, device_id: String(row.id), iat, exp: iat + 3600 }, row.jwt_secret) };
  }

  /** Login's work with a trivial credential check: a new token and secret, one INSERT, a signed JWT. */
  @Post('login')
  @HttpCode(200)
  async login(@Body() body: { username?: string; password?: string }, @Headers('user-agent') userAgent = '') {
    if (body?.username !== BENCH_USER.username || body.password !== BENCH_USER.password) throw new HttpException('Bad Request', 400);
    const permanentToken = randomBytes(32).toString('base64url');
    const secret = randomBytes(32).toString('hex');
    const id = await this.db.insert([BENCH_USER.id, sha256(permanentToken), secret, userAgent.slice(0, 255), '', new Date()]);
    const iat = Math.floor(Date.now() / 1000);
    return { token: sign({ user_id: BENCH_USER.id, device_id: String(id), iat, exp: iat + 3600 }, secret), permanent_token: permanentToken, device_id: id };
  }
}
