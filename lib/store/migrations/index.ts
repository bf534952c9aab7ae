import { CreateJwtDevicesDevice1764400000000 } from './1764400000000-create-jwt-devices-device.js';
import { AddPermanentTokenLineage1764500000000 } from './1764500000000-add-permanent-token-lineage.js';
import { UserIdNoPadCollation1764600000000 } from './1764600000000-user-id-no-pad-collation.js';
import { CreateUserRevocation1764700000000 } from './1764700000000-create-user-revocation.js';

export { AddPermanentTokenLineage1764500000000, CreateJwtDevicesDevice1764400000000, CreateUserRevocation1764700000000, UserIdNoPadCollation1764600000000 };

/**
 * Every migration of the package, oldest first. List it in your DataSource:
 * `migrations: [...JWT_DEVICES_MIGRATIONS, …your own]`.
 */
export const JWT_DEVICES_MIGRATIONS = [
  CreateJwtDevicesDevice1764400000000,
  AddPermanentTokenLineage1764500000000,
  UserIdNoPadCollation1764600000000,
  CreateUserRevocation1764700000000,
] as const;
