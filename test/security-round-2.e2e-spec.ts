import { afterEach, expect, it } from 'vitest';
import { ALICE, createTestApp, currentHttpAdapter, type TestApp } from './support/test-app.js';
import { TestUsers } from './support/users.js';

let t: TestApp;
afterEach(() => t?.close());

for (const barrier of [false, true]) it(`explore barrier=${barrier}`, async () => {
  const users = new TestUsers();
  let waiting: Array<() => void> = [];
  const gated = {
    findUser: (id: string) => users.findUser(id),
    validateUser: async (u: string, p: string) => {
      if (barrier) {
        await new Promise<void>((resolve) => {
          waiting.push(resolve);
          if (waiting.length === 2) { waiting.forEach((r) => r()); waiting = []; }
        });
      }
      return users.validateUser(u, p);
    },
  };
  t = await createTestApp({ options: { devicesPerUser: 1, users: gated } });
  const outcomes: Record<string, number> = {};
  for (let round = 0; round < 30; round++) {
    const responses = await Promise.all([0, 1].map(() => t.http.post('/auth-token/').send(ALICE)));
    const alive = [];
    for (const r of responses) if (r.status === 200) alive.push((await t.http.get('/me').set('Authorization', `JWT ${r.body.token}`)).status);
    const key = `${responses.map((r) => r.status).sort().join(',')} alive=${alive.join(',')} rows=${(await t.devices()).length}`;
    outcomes[key] = (outcomes[key] ?? 0) + 1;
  }
  console.log(process.env.TEST_DATABASE, currentHttpAdapter(), 'barrier', barrier, JSON.stringify(outcomes));
});
