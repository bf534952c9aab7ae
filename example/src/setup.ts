import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { addJwtDevicesToOpenApi } from 'nestjs-jwt-devices';

/** What main.ts does to the app before it listens: the OpenAPI document at /docs-json, Swagger UI at /docs. */
export function setUpApp(app: INestApplication): void {
  const config = new DocumentBuilder().setTitle('nestjs-jwt-devices example').setVersion('1.0').build();
  SwaggerModule.setup('docs', app, () => addJwtDevicesToOpenApi(SwaggerModule.createDocument(app, config)), { jsonDocumentUrl: 'docs-json' });
}
