import {
  Body,
  Controller,
  createParamDecorator,
  Delete,
  type ExecutionContext,
  Get,
  Header,
  HttpCode,
  HttpStatus,
  Param,
  Patch,
  Post,
  Query,
  Req,
  Res,
  SetMetadata,
  UseGuards,
} from '@nestjs/common';
import { type AuthenticatedDevice, DevicesService } from '../devices.service.js';
import type { CookieLoginResponse, DeviceView, LoginResponse, RefreshRouteResponse } from '../devices.responses.js';
import { DEVICE_ID_HEADER, REQUEST_REFRESH_PROPERTY, SIGNED_OUT_ANSWER_METADATA } from '../jwt-devices.constants.js';
import { DeviceNotFoundError, NoDevicesError } from '../jwt-devices.errors.js';
import type { RequestHeaders } from '../sessions/device-names.js';
import { CookieTransport } from './cookie-transport.js';
import { LoginDto } from './dto/login.dto.js';
import { RenameDeviceDto } from './dto/rename-device.dto.js';
import { AllowPermanentToken, CurrentDevice, Public } from './jwt-devices.decorators.js';
import { JwtDevicesGuard } from './jwt-devices.guard.js';
import { toHttpException } from './jwt-devices.http-errors.js';
import { JwtDevicesBodyPipe, ParseDeviceIdPipe, ParseDevicesCursorPipe } from './jwt-devices.pipes.js';
import { JwtDevicesRoutes } from './jwt-devices.routes.js';
import { PermanentTokenGuard } from './permanent-token.guard.js';
import { JsonLoginGuard } from './json-login.guard.js';

const DEVICE_ID = new ParseDeviceIdPipe();
const DEVICES_CURSOR = new ParseDevicesCursorPipe();
const DEVICE_ID_FROM_HEADER = new ParseDeviceIdPipe({
  missing: 'Device-Id header must be present in the request headers.',
  invalid: 'Device-Id header must be a positive integer.',
});

/** One request header's raw value (`string`, `string[]` or `undefined`), for a pipe to read; Nest's `@Headers()` takes no pipes. */
const RequestHeader = createParamDecorator(
  (name: string, context: ExecutionContext): unknown => context.switchToHttp().getRequest<{ headers: RequestHeaders }>().headers[name],
);

/**
 * Runs a handler's work and turns the module's domain errors into HTTP answers (`toHttpException`):
 * what `JwtDevicesErrorsInterceptor` does, without an rxjs pipeline around every request. HTTP
 * exceptions pass unchanged, so the app's exception filters see every answer.
 */
async function answer<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw toHttpException(error);
  }
}

/**
 * The drf-jwt-devices HTTP API. Thin: DTOs and pipes read the request, the service does the rest, and
 * its domain errors become HTTP answers in `jwt-devices.http-errors.ts` (the guards map their own; the
 * handlers map theirs with {@link answer}). Paths work with and without their trailing slash.
 */
@Controller()
export class DevicesController {
  constructor(
    private readonly devices: DevicesService,
    private readonly cookies: CookieTransport,
    private readonly routes: JwtDevicesRoutes,
  ) {}

  /**
   * Log in: `{username, password}` → `{token, permanent_token, device_id}` (or `{token}` in plain mode).
   * JSON only unless `allowFormLogin`, so no other site can post a login form for a visitor. A browser
   * that sends `Permanent-Token-Transport: cookie` gets the permanent token in an httpOnly cookie instead.
   */
  @Post('auth-token')
  @HttpCode(HttpStatus.OK)
  @Public()
  @UseGuards(JsonLoginGuard)
  @Header('Cache-Control', 'no-store')
  @Header('Pragma', 'no-cache')
  login(
    @Req() request: { headers: RequestHeaders },
    @Body(JwtDevicesBodyPipe) credentials: LoginDto,
    @Res({ passthrough: true }) response: object,
  ): Promise<LoginResponse | CookieLoginResponse> {
    return answer(async () => {
      const inCookie = this.cookies.requested(request.headers);
      const issued = await this.devices.login(credentials, request);
      if (!inCookie || !('permanent_token' in issued)) return issued;
      this.cookies.set(response, issued.permanent_token);
      return { token: issued.token, device_id: issued.device_id };
    });
  }

  /**
   * Trade the `Permanent-Token` header (or a browser's cookie) for a fresh JWT. A browser with no usable
   * cookie gets `{token: null}` (signed out) and the cookie cleared; a header client is refused with 400.
   */
  @Post('device-refresh-token')
  @HttpCode(HttpStatus.OK)
  @Public()
  @Header('Cache-Control', 'no-store')
  @Header('Pragma', 'no-cache')
  @AllowPermanentToken()
  @SetMetadata(SIGNED_OUT_ANSWER_METADATA, true)
  @UseGuards(PermanentTokenGuard)
  refresh(@Req() request: { [REQUEST_REFRESH_PROPERTY]: RefreshRouteResponse }): RefreshRouteResponse {
    return request[REQUEST_REFRESH_PROPERTY];
  }

  /** Log out the device named by the `Device-Id` header (one of the caller's). */
  @Delete('device-logout')
  @HttpCode(HttpStatus.NO_CONTENT)
  @UseGuards(JwtDevicesGuard)
  logout(
    @CurrentDevice() caller: AuthenticatedDevice,
    @RequestHeader(DEVICE_ID_HEADER, DEVICE_ID_FROM_HEADER) deviceId: number,
    @Req() request: { headers: RequestHeaders },
    @Res({ passthrough: true }) response: object,
  ): Promise<void> {
    return answer(() => this.revoke(caller, deviceId, request, response));
  }

  /**
   * The caller's devices, oldest first, a page (`devicesPageSize`) at a time: still a JSON array, as
   * drf-jwt-devices clients expect; when more exist, `Link: <…/devices/?after=<id>>; rel="next"`.
   */
  @Get('devices')
  @UseGuards(JwtDevicesGuard)
  list(
    @CurrentDevice() caller: AuthenticatedDevice,
    @Query('after', DEVICES_CURSOR) after: number | null,
    @Res({ passthrough: true }) response: { header(name: string, value: string): unknown },
  ): Promise<DeviceView[]> {
    return answer(async () => {
      const page = await this.devices.list(caller.userId, caller.id, { after });
      if (page.next !== null) response.header('Link', `<${this.routes.url('devices')}?after=${page.next}>; rel="next"`);
      return page.devices;
    });
  }

  /** Sign out every device of the caller but the one making the request. */
  @Delete('devices/others')
  @HttpCode(HttpStatus.NO_CONTENT)
  @UseGuards(JwtDevicesGuard)
  removeOthers(@CurrentDevice() caller: AuthenticatedDevice, @Req() request: { headers: RequestHeaders }): Promise<void> {
    return answer(async () => {
      this.cookies.requested(request.headers); // the same refusals as the other sign-outs; this device keeps its cookie
      if (caller.id === null) throw new NoDevicesError();
      await this.devices.revokeOthers(caller.userId, caller.id);
    });
  }

  /** Sign out every device of the caller, this one included. */
  @Delete('devices')
  @HttpCode(HttpStatus.NO_CONTENT)
  @UseGuards(JwtDevicesGuard)
  removeAll(
    @CurrentDevice() caller: AuthenticatedDevice,
    @Req() request: { headers: RequestHeaders },
    @Res({ passthrough: true }) response: object,
  ): Promise<void> {
    return answer(async () => {
      const inCookie = this.cookies.requested(request.headers);
      if (caller.id === null) throw new NoDevicesError();
      await this.devices.revokeAllForUser(caller.userId);
      if (inCookie) this.cookies.clear(response);
    });
  }

  /** Rename one of the caller's devices: `{"name": "…"}` → the device. */
  @Patch('devices/:id')
  @UseGuards(JwtDevicesGuard)
  rename(
    @CurrentDevice() caller: AuthenticatedDevice,
    @Param('id', DEVICE_ID) deviceId: number,
    @Body(JwtDevicesBodyPipe) body: RenameDeviceDto,
  ): Promise<DeviceView> {
    return answer(async () => {
      const renamed = await this.devices.rename(caller.userId, deviceId, body.name, caller.id);
      if (!renamed) throw new DeviceNotFoundError();
      return renamed;
    });
  }

  /** Log out one of the caller's devices by id. */
  @Delete('devices/:id')
  @HttpCode(HttpStatus.NO_CONTENT)
  @UseGuards(JwtDevicesGuard)
  remove(
    @CurrentDevice() caller: AuthenticatedDevice,
    @Param('id', DEVICE_ID) deviceId: number,
    @Req() request: { headers: RequestHeaders },
    @Res({ passthrough: true }) response: object,
  ): Promise<void> {
    return answer(() => this.revoke(caller, deviceId, request, response));
  }

  /** Logs out one of the caller's devices; a browser logging out its own device also loses its cookie. */
  private async revoke(caller: AuthenticatedDevice, deviceId: number, request: { headers: RequestHeaders }, response: object): Promise<void> {
    const inCookie = this.cookies.requested(request.headers);
    if (!(await this.devices.revoke(caller.userId, deviceId))) throw new DeviceNotFoundError();
    if (inCookie && deviceId === caller.id) this.cookies.clear(response);
  }
}
