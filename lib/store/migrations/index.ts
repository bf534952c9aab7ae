import { CreateJwtDevicesDevice1764400000000 } from './1764400000000-create-jwt-devices-device.js';

export { CreateJwtDevicesDevice1764400000000 };

/**
 * Every migration of the package, oldest first. List it in your DataSource:
 * `migrations: [...JWT_DEVICES_MIGRATIONS, …your own]`.
 */
export const JWT_DEVICES_MIGRATIONS = [CreateJwtDevicesDevice1764400000000] as const;
