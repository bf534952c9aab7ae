/**
 * Compiled by `npm test` (`tsc -p tsconfig.json`, strict) and never run: the README's Swagger lines
 * must compile unchanged against @nestjs/swagger's own types.
 */
import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, type OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { addJwtDevicesToOpenApi } from '../../lib/index.js';

export function documentApp(app: INestApplication): OpenAPIObject {
  const document = addJwtDevicesToOpenApi(SwaggerModule.createDocument(app, new DocumentBuilder().setTitle('My API').addBearerAuth().build()));
  SwaggerModule.setup('docs', app, document);
  SwaggerModule.setup('docs', app, () => addJwtDevicesToOpenApi(SwaggerModule.createDocument(app, new DocumentBuilder().build()), { rotation: true }));
  return document;
}
