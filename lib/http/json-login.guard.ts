import { type CanActivate, type ExecutionContext, Inject, Injectable, UnsupportedMediaTypeException } from '@nestjs/common';
import { JWT_DEVICES_OPTIONS } from '../jwt-devices.constants.js';
import type { ResolvedJwtDevicesOptions } from '../jwt-devices.options.js';
import type { RequestHeaders } from '../sessions/device-names.js';
import { isJsonContentType } from './request-input.js';

/**
 * Refuses (415) a login whose body is not JSON, unless `allowFormLogin`: any web page can make a
 * visitor's browser post a form (or `text/plain`), but not JSON, so this closes login CSRF.
 */
@Injectable()
export class JsonLoginGuard implements CanActivate {
  constructor(@Inject(JWT_DEVICES_OPTIONS) private readonly options: ResolvedJwtDevicesOptions) {}

  canActivate(context: ExecutionContext): boolean {
    if (this.options.allowFormLogin) return true;
    const { headers } = context.switchToHttp().getRequest<{ headers?: RequestHeaders }>();
    if (isJsonContentType(headers)) return true;
    throw new UnsupportedMediaTypeException('Send the credentials as JSON, with Content-Type: application/json.');
  }
}
