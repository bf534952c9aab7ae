import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { DEVICE_TABLE } from './jwt-devices.constants.js';

/**
 * One signed-in device: created at login, deleted at logout or expiry. Its permanent token is stored
 * only as a SHA-256 hash; its JWT secret lives only here, so deleting the row revokes both at once.
 *
 * The shipped migrations create exactly this table; a test fails when the two drift apart.
 */
@Entity(DEVICE_TABLE)
export class Device {
  /** Primary key, sent to clients as `device_id`. */
  @PrimaryGeneratedColumn({ type: 'integer' })
  id!: number;

  /** The app's user id, as a string. No foreign key: the module does not own the user table. */
  @Index('IDX_jwt_devices_device_user_id')
  @Column({ name: 'user_id', type: 'varchar', length: 255 })
  userId!: string;

  /** SHA-256 (hex) of the permanent token; the token itself is never stored. */
  @Index('UQ_jwt_devices_device_permanent_token_hash', { unique: true })
  @Column({ name: 'permanent_token_hash', type: 'varchar', length: 64 })
  permanentTokenHash!: string;

  /** Random per-device secret (hex) from which the device's JWT signing key is derived. */
  @Column({ name: 'jwt_secret', type: 'varchar', length: 64 })
  jwtSecret!: string;

  /** `X-Device-Model` if the client sent one, else its `User-Agent`; at most 255 characters. */
  @Column({ type: 'varchar', length: 255, default: '' })
  name!: string;

  /** The `User-Agent` when `name` came from `X-Device-Model`, else empty; at most 255 characters. */
  @Column({ type: 'varchar', length: 255, default: '' })
  details!: string;

  /** When the device logged in. */
  @Column({ name: 'created' })
  created!: Date;

  /** Last refresh, written at most once per `permanentTokenExpirationAccuracy`; expiry counts from it. Indexed for `purgeExpired()`. */
  @Index('IDX_jwt_devices_device_last_request_datetime')
  @Column({ name: 'last_request_datetime' })
  lastRequestDatetime!: Date;
}
