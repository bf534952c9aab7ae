import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { addJwtDevicesToOpenApi, JWT_DEVICES_OPTIONS, type ResolvedJwtDevicesOptions } from 'nestjs-jwt-devices';

/**
 * What main.ts does to the app before it listens: the OpenAPI document at /docs-json, Swagger UI at
 * /docs, with the cookie transport that the page at `GET /` uses (its cookie's name from the module).
 */
export function setUpApp(app: INestApplication): void {
  const config = new DocumentBuilder().setTitle('nestjs-jwt-devices example').setVersion('1.0').build();
  const cookieName = app.get<ResolvedJwtDevicesOptions>(JWT_DEVICES_OPTIONS).cookieTransport?.name;
  SwaggerModule.setup('docs', app, () => addJwtDevicesToOpenApi(SwaggerModule.createDocument(app, config), { cookieName }), { jsonDocumentUrl: 'docs-json' });
}
