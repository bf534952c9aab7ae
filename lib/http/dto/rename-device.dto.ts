import { IsString } from 'class-validator';

const SEND_NAME = 'Send {"name": "<new name>"}.';

/**
 * Body of `PATCH /devices/:id/`. The name is cleaned as names from headers are (control and invisible
 * characters dropped, trimmed) and must then be 1 to 255 characters.
 */
export class RenameDeviceDto {
  /** The device's new name. */
  @IsString({ message: SEND_NAME })
  name!: string;

  /** The answer when the body is not a JSON object at all. */
  static readonly invalidBody = SEND_NAME;
}
