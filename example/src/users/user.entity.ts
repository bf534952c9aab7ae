import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

/** The example app's own users. The module never sees this table, only `id` and `username`. */
@Entity('example_user')
export class User {
  @PrimaryGeneratedColumn({ type: 'integer' })
  id!: number;

  @Column({ type: 'varchar', length: 150, unique: true })
  username!: string;

  /** `scrypt$<salt>$<hash>`, both base64url. */
  @Column({ name: 'password_hash', type: 'varchar', length: 255 })
  passwordHash!: string;
}
