import type { JwtDevicesUsers } from '../../lib/index.js';

/** A user of the test apps; the module only ever sees its id and username. */
export interface TestUser {
  id: number;
  username: string;
  password: string;
}

/** The app's user store in tests: plain memory, since the module never touches user tables. */
export class TestUsers implements JwtDevicesUsers<TestUser> {
  readonly all: TestUser[] = [
    { id: 1, username: 'alice', password: 'alice-password' },
    { id: 2, username: 'bob', password: 'bob-password' },
  ];

  validateUser(username: string, password: string): TestUser | undefined {
    return this.all.find((user) => user.username === username && user.password === password);
  }

  findUser(userId: string): TestUser | undefined {
    return this.all.find((user) => String(user.id) === userId);
  }

  remove(username: string): void {
    this.all.splice(this.all.findIndex((user) => user.username === username), 1);
  }
}
