import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { randomBytes, scrypt as scryptCallback, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import type { JwtDevicesUsers } from 'nestjs-jwt-devices';
import type { Repository } from 'typeorm';
import { User } from './user.entity.js';

const scrypt = promisify(scryptCallback) as (password: string, salt: Buffer, keylen: number) => Promise<Buffer>;
const KEY_LENGTH = 32;

/** Users seeded at start-up, so the app can be tried at once. */
export const SEED_USERS = [
  { username: 'alice', password: 'alice-password' },
  { username: 'bob', password: 'bob-password' },
] as const;

/** What `request.user` is on guarded routes: the user without the password hash. */
export interface PublicUser {
  id: number;
  username: string;
}

/** The app's user service, handed to JwtDevicesModule as its `users` option. */
@Injectable()
export class UsersService implements JwtDevicesUsers<PublicUser>, OnApplicationBootstrap {
  private readonly logger = new Logger(UsersService.name);
  /** A valid hash to check against when the username is unknown, so both cases take the same time. */
  private readonly decoyHash = hashPassword('decoy-password');

  /**
   * `findUser` runs on every guarded request, so its statement is built once, by TypeORM's query builder
   * (right for every database), and each call only runs it: building a query per call costs more than
   * the indexed read itself. The module's device store does the same for its hot statements.
   */
  private readonly findByIdSql: string;

  constructor(@InjectRepository(User) private readonly users: Repository<User>) {
    // A string stands in for the id: TypeORM writes numbers into the SQL, strings become a bind parameter.
    const [sql, parameters] = users.createQueryBuilder('user').select(['user.id', 'user.username']).where('user.id = :id', { id: 'id' }).getQueryAndParameters();
    if (parameters.length !== 1) throw new Error('findUser: expected one bind parameter');
    this.findByIdSql = sql;
  }

  async onApplicationBootstrap(): Promise<void> {
    for (const { username, password } of SEED_USERS) {
      if (await this.users.existsBy({ username })) continue;
      await this.users.insert({ username, passwordHash: await hashPassword(password) });
      this.logger.log(`Seeded user ${username}`);
    }
  }

  async validateUser(username: string, password: string): Promise<PublicUser | null> {
    const user = await this.users.findOneBy({ username });
    const matches = await verifyPassword(password, user?.passwordHash ?? (await this.decoyHash));
    return user && matches ? { id: user.id, username: user.username } : null;
  }

  async findUser(userId: string): Promise<PublicUser | null> {
    if (!/^\d{1,9}$/.test(userId)) return null;
    const [row] = (await this.users.query(this.findByIdSql, [Number(userId)])) as Array<{ user_id: number | string; user_username: string }>;
    return row ? { id: Number(row.user_id), username: row.user_username } : null;
  }
}

async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  return `scrypt$${salt.toString('base64url')}$${(await scrypt(password, salt, KEY_LENGTH)).toString('base64url')}`;
}

async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64url');
  const actual = await scrypt(password, Buffer.from(salt, 'base64url'), expected.length);
  return timingSafeEqual(actual, expected);
}
