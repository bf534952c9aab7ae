import { Inject, Injectable, Optional } from '@nestjs/common';
import { ApplicationConfig } from '@nestjs/core';
import { JWT_DEVICES_ROUTE_PATH } from '../jwt-devices.constants.js';

/**
 * The module's routes as clients call them: the app's global prefix (read at request time, since apps
 * set it after the module is built) and the module's `path` extra. Error messages name these.
 */
@Injectable()
export class JwtDevicesRoutes {
  constructor(
    @Inject(JWT_DEVICES_ROUTE_PATH) private readonly path: string,
    @Optional() private readonly config?: ApplicationConfig,
  ) {}

  /** `POST /<prefix>/<path>/device-refresh-token/`. */
  get refresh(): string {
    return `POST ${this.url('device-refresh-token')}`;
  }

  /** The URL path of one of the module's routes, with its trailing slash. */
  url(route: string): string {
    const parts = [this.config?.getGlobalPrefix() ?? '', this.path, route].map((part) => part.replace(/^\/+|\/+$/g, '')).filter(Boolean);
    return `/${parts.join('/')}/`;
  }
}
