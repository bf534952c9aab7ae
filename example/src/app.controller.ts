import { Controller, Get, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiProperty, ApiUnauthorizedResponse } from '@nestjs/swagger';
import { type AuthenticatedDevice, CurrentDevice, CurrentUser, JwtDevicesGuard } from 'nestjs-jwt-devices';
import type { PublicUser } from './users/users.service.js';

class Health {
  @ApiProperty({ example: 'ok' })
  status!: 'ok';
}

class Me {
  @ApiProperty()
  id!: number;

  @ApiProperty()
  username!: string;

  @ApiProperty({ description: 'The device this request came from.' })
  device_id!: number | null;
}

/** The app's own routes: one open, one guarded by the module. */
@Controller()
export class AppController {
  @Get('health')
  @ApiOkResponse({ type: Health })
  health(): Health {
    return { status: 'ok' };
  }

  @Get('me')
  @UseGuards(JwtDevicesGuard)
  @ApiBearerAuth('jwtDevices')
  @ApiOkResponse({ type: Me, description: 'The signed-in user and device.' })
  @ApiUnauthorizedResponse({ description: 'No JWT, or a refused one.' })
  me(@CurrentUser() user: PublicUser, @CurrentDevice() device: AuthenticatedDevice): Me {
    return { id: user.id, username: user.username, device_id: device.id };
  }
}
