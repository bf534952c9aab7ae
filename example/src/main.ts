import 'reflect-metadata';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module.js';
import { readConfig } from './config.js';

async function main(): Promise<void> {
  const config = readConfig();
  const logger = new Logger('Example');
  if ('database' in config.database && typeof config.database.database === 'string' && config.database.database !== ':memory:') {
    mkdirSync(dirname(config.database.database), { recursive: true });
  }
  if (config.jwtSecretIsDefault) {
    logger.warn('JWT_SECRET is not set: using the built-in development secret. Set JWT_SECRET before deploying.');
  }
  const app = await NestFactory.create(AppModule.register(config));
  app.enableShutdownHooks();
  await app.listen(config.port, '0.0.0.0');
  logger.log(`Listening on http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port} (database: ${config.database.type})`);
}

void main();
