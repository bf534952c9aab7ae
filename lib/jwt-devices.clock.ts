import { Injectable } from '@nestjs/common';

/**
 * The module's only source of the current time. Tests replace it with
 * `Test.createTestingModule(…).overrideProvider(JwtDevicesClock).useValue({ now: () => fakeMs })`.
 */
@Injectable()
export class JwtDevicesClock {
  /** Milliseconds since the epoch. */
  now(): number {
    return Date.now();
  }
}
