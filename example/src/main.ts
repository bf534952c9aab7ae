import 'reflect-metadata';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppModule } from './app.module.js';
import { readConfig } from './config.js';
import { setUpApp } from './setup.js';

async function main(): Promise<void> {
  const config = readConfig();
  const logger = new Logger('Example');
  if ('database' in config.database && typeof config.database.database === 'string' && config.database.database !== ':memory:') {
    mkdirSync(dirname(config.database.database), { recursive: true });
  }
  if (config.jwtSecretIsDefault) {
    logger.warn('JWT_SECRET is not set: using the built-in development secret. Set JWT_SECRET before deploying.');
  }
  const app =
    config.httpAdapter === 'fastify'
      ? await NestFactory.create<NestFastifyApplication>(
          AppModule.register(config),
          // Trailing slashes optional, as drf-jwt-devices clients expect and as Express does by default.
          new FastifyAdapter({ routerOptions: { ignoreTrailingSlash: true } }),
        )
      : await NestFactory.create(AppModule.register(config));
  app.enableShutdownHooks();
  setUpApp(app);
  await app.listen(config.port, '0.0.0.0');
  const { port } = app.getHttpServer().address() as { port: number };
  logger.log(`Listening on http://127.0.0.1:${port} (${config.httpAdapter}, database: ${config.database.type})`);
}

void main();
