import {
  BadRequestException,
  Body,
  Controller,
  Delete,
  Get,
  Headers,
  HttpCode,
  HttpStatus,
  NotFoundException,
  Param,
  Patch,
  Post,
  Req,
  UseGuards,
} from '@nestjs/common';
import {
  type AuthenticatedDevice,
  type DeviceView,
  DevicesService,
  type LoginResponse,
  type RefreshResponse,
} from './devices.service.js';
import { DEVICE_ID_HEADER } from './jwt-devices.constants.js';
import { AllowPermanentToken, CurrentDevice } from './jwt-devices.decorators.js';
import { JwtDevicesGuard } from './jwt-devices.guard.js';
import { PermanentTokenGuard } from './permanent-token.guard.js';
import { parseDeviceId, readCredentials, type RequestHeaders } from './request-input.js';

/**
 * The drf-jwt-devices HTTP API. Thin: it reads and checks the request, the service does the rest.
 * Paths work with and without their trailing slash.
 */
@Controller()
export class DevicesController {
  constructor(private readonly devices: DevicesService) {}

  /** Log in: `{username, password}` → `{token, permanent_token, device_id}` (or `{token}` in plain mode). */
  @Post('auth-token')
  @HttpCode(HttpStatus.OK)
  login(@Body() body: unknown, @Req() request: { headers: RequestHeaders }): Promise<LoginResponse> {
    const credentials = readCredentials(body);
    if (typeof credentials === 'string') throw new BadRequestException(credentials);
    return this.devices.login(credentials, request);
  }

  /** Trade the `Permanent-Token` header for a fresh JWT. */
  @Post('device-refresh-token')
  @HttpCode(HttpStatus.OK)
  @AllowPermanentToken()
  @UseGuards(PermanentTokenGuard)
  refresh(@Req() request: { user: object }, @CurrentDevice() device: AuthenticatedDevice): RefreshResponse {
    return this.devices.refresh({ user: request.user, device });
  }

  /** Log out the device named by the `Device-Id` header (one of the caller's). */
  @Delete('device-logout')
  @HttpCode(HttpStatus.NO_CONTENT)
  @UseGuards(JwtDevicesGuard)
  async logout(@CurrentDevice() caller: AuthenticatedDevice, @Headers(DEVICE_ID_HEADER) deviceIdHeader: unknown): Promise<void> {
    if (deviceIdHeader === undefined) throw new BadRequestException('Device-Id header must be present in the request headers.');
    await this.revoke(caller, parseDeviceId(deviceIdHeader), 'Device-Id header must be a positive integer.');
  }

  /** The caller's devices, oldest first. */
  @Get('devices')
  @UseGuards(JwtDevicesGuard)
  list(@CurrentDevice() caller: AuthenticatedDevice): Promise<DeviceView[]> {
    return this.devices.list(caller.userId, caller.id);
  }

  /** Sign out every device of the caller but the one making the request. */
  @Delete('devices/others')
  @HttpCode(HttpStatus.NO_CONTENT)
  @UseGuards(JwtDevicesGuard)
  async removeOthers(@CurrentDevice() caller: AuthenticatedDevice): Promise<void> {
    await this.devices.revokeOthers(caller.userId, caller.id);
  }

  /** Sign out every device of the caller, this one included. */
  @Delete('devices')
  @HttpCode(HttpStatus.NO_CONTENT)
  @UseGuards(JwtDevicesGuard)
  async removeAll(@CurrentDevice() caller: AuthenticatedDevice): Promise<void> {
    await this.devices.revokeAllForUser(caller.userId);
  }

  /** Rename one of the caller's devices: `{"name": "…"}` → the device. */
  @Patch('devices/:id')
  @UseGuards(JwtDevicesGuard)
  async rename(@CurrentDevice() caller: AuthenticatedDevice, @Param('id') id: string, @Body() body: unknown): Promise<DeviceView> {
    const deviceId = parseDeviceId(id);
    if (deviceId === undefined) throw new BadRequestException('Device id must be a positive integer.');
    const name = body !== null && typeof body === 'object' ? (body as { name?: unknown }).name : undefined;
    if (typeof name !== 'string') throw new BadRequestException('Send {"name": "<new name>"}.');
    const renamed = await this.devices.rename(caller.userId, deviceId, name, caller.id);
    if (!renamed) throw new NotFoundException('Device does not exist.');
    return renamed;
  }

  /** Log out one of the caller's devices by id. */
  @Delete('devices/:id')
  @HttpCode(HttpStatus.NO_CONTENT)
  @UseGuards(JwtDevicesGuard)
  async remove(@CurrentDevice() caller: AuthenticatedDevice, @Param('id') id: string): Promise<void> {
    await this.revoke(caller, parseDeviceId(id), 'Device id must be a positive integer.');
  }

  private async revoke(caller: AuthenticatedDevice, deviceId: number | undefined, invalid: string): Promise<void> {
    if (deviceId === undefined) throw new BadRequestException(invalid);
    if (!(await this.devices.revoke(caller.userId, deviceId))) throw new NotFoundException('Device does not exist.');
  }
}
