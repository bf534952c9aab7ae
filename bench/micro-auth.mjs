import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { rmSync } from 'node:fs';
import { DevicesService, JwtDevicesModule, JWT_DEVICES_MIGRATIONS } from '../dist/index.js';

rmSync('/tmp/micro', { recursive: true, force: true });
const cacheSize = Number(process.env.CACHE ?? 0);
class M {}
Module({
  imports: [
    TypeOrmModule.forRoot({ type: 'better-sqlite3', database: '/tmp/micro/db.sqlite', enableWAL: true, autoLoadEntities: true, migrations: JWT_DEVICES_MIGRATIONS, migrationsRun: true }),
    JwtDevicesModule.forRoot({ jwtSecret: 'x'.repeat(40), deviceCacheSize: cacheSize, users: { findUser: (id) => ({ id }), validateUser: (u) => ({ id: 1, username: u }) }, database: 'better-sqlite3' }),
  ],
})(M);
const app = await NestFactory.createApplicationContext(M, { logger: false });
const devices = app.get(DevicesService);
const logins = [];
for (let i = 0; i < 50; i++) logins.push(await devices.login({ username: 'a', password: 'b' }));
const N = 20000;
for (let round = 0; round < 3; round++) {
  let t = process.hrtime.bigint();
  for (let i = 0; i < N; i++) await devices.authenticate(logins[i % 50].token);
  const auth = Number(process.hrtime.bigint() - t) / N / 1000;
  t = process.hrtime.bigint();
  for (let i = 0; i < N / 4; i++) await devices.refresh(logins[i % 50].permanent_token);
  const refresh = Number(process.hrtime.bigint() - t) / (N / 4) / 1000;
  console.log(`cache=${cacheSize} authenticate ${auth.toFixed(1)} µs, refresh ${refresh.toFixed(1)} µs`);
}
await app.close();
