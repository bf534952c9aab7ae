import {
  BadRequestException,
  type CallHandler,
  ConflictException,
  type ExecutionContext,
  HttpException,
  Injectable,
  type NestInterceptor,
  NotFoundException,
  ServiceUnavailableException,
  UnauthorizedException,
} from '@nestjs/common';
import { catchError, type Observable } from 'rxjs';
import {
  DeviceEvictedError,
  DeviceNotFoundError,
  InvalidCredentialsError,
  InvalidDeviceInputError,
  InvalidPermanentTokenError,
  InvalidTokenError,
  LoginNotConfiguredError,
  LoginRevokedError,
  NoDevicesError,
  StoreUnavailableError,
  TokenExpiredError,
} from '../jwt-devices.errors.js';
import type { JwtDevicesRoutes } from './jwt-devices.routes.js';

/**
 * The one place where the module's domain errors become HTTP: Nest's exceptions with the usual
 * `{statusCode, message, error}` body. Anything else is returned as it is. Given the module's routes,
 * messages name them as clients call them (global prefix and `path` included).
 */
export function toHttpException(error: unknown, routes?: Pick<JwtDevicesRoutes, 'refresh'>): unknown {
  if (error instanceof HttpException) return error;
  if (error instanceof TokenExpiredError && routes) return new UnauthorizedException(`Token has expired; get a new one from ${routes.refresh}.`);
  if (error instanceof InvalidTokenError) return new UnauthorizedException(error.message);
  if (
    error instanceof InvalidPermanentTokenError ||
    error instanceof InvalidCredentialsError ||
    error instanceof InvalidDeviceInputError
  ) {
    return new BadRequestException(error.message);
  }
  if (error instanceof DeviceNotFoundError || error instanceof LoginNotConfiguredError || error instanceof NoDevicesError) {
    return new NotFoundException(error.message);
  }
  if (error instanceof DeviceEvictedError || error instanceof LoginRevokedError) return new ConflictException(error.message);
  if (error instanceof StoreUnavailableError) return new ServiceUnavailableException(error.message);
  return error;
}

/** Maps the module's domain errors thrown by a handler to HTTP (see {@link toHttpException}). */
@Injectable()
export class JwtDevicesErrorsInterceptor implements NestInterceptor {
  intercept(_context: ExecutionContext, next: CallHandler): Observable<unknown> {
    return next.handle().pipe(
      catchError((error: unknown) => {
        throw toHttpException(error);
      }),
    );
  }
}
