import { Controller, Get, Req, UseGuards } from '@nestjs/common';
import { type AuthenticatedDevice, CurrentDevice, JwtDevicesGuard } from 'nestjs-jwt-devices';
import type { PublicUser } from './users/users.service.js';

/** The app's own routes: one open, one guarded by the module. */
@Controller()
export class AppController {
  @Get('health')
  health(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('me')
  @UseGuards(JwtDevicesGuard)
  me(@Req() request: { user: PublicUser }, @CurrentDevice() device: AuthenticatedDevice) {
    return { id: request.user.id, username: request.user.username, device_id: device.id };
  }
}
