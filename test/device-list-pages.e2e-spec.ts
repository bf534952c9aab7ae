import { afterEach, describe, expect, it } from 'vitest';
import { DevicesService } from '../lib/index.js';
import { insertDevices } from './support/bulk-devices.js';
import { ALICE, BOB, createTestApp, login, type TestApp } from './support/test-app.js';

/** Issue 12, item 2: `GET /devices/` answers a bounded page, still a JSON array, with a `Link` to the rest. */

let t: TestApp;
afterEach(async () => {
  await t?.close();
  t = undefined as never; // a test whose app fails to start leaves none to close
});

const auth = (token: string) => ({ Authorization: `JWT ${token}` });

/** The URL of the `rel="next"` link, if any. */
function nextLink(link: string | undefined): string | undefined {
  return link?.match(/^<([^>]+)>; rel="next"$/)?.[1];
}

describe('GET /devices/ a page at a time (devicesPageSize, 100 by default)', () => {
  it('250 devices: pages of 100, 100 and 50 following the Link header, oldest first, the caller marked current', async () => {
    t = await createTestApp();
    await insertDevices(t, '1', 249);
    const caller = await login(t);
    await login(t, BOB);

    const pages: Array<Array<{ id: number; current: boolean }>> = [];
    let url: string | undefined = '/devices/';
    while (url !== undefined && pages.length < 5) {
      const response = await t.http.get(url).set(auth(caller.token)).expect(200);
      expect(Array.isArray(response.body)).toBe(true);
      pages.push(response.body);
      url = nextLink(response.headers.link);
      if (pages.length < 3) expect(url).toBe(`/devices/?after=${response.body.at(-1).id}`);
    }
    expect(pages.map((page) => page.length)).toEqual([100, 100, 50]);
    const ids = pages.flat().map(({ id }) => id);
    const alices = (await t.devices()).filter(({ userId }) => userId === '1').map(({ id }) => id);
    expect(ids).toEqual(alices);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(pages.flat().filter(({ current }) => current)).toEqual([expect.objectContaining({ id: caller.device_id })]);
  });

  it('no Link header on the last (or only) page; the path prefix is in the link', async () => {
    t = await createTestApp({ options: { devicesPageSize: 2 }, extras: { path: 'api' } });
    const signIn = async () => (await t.http.post('/api/auth-token/').send(ALICE).expect(200)).body;
    const first = await signIn();
    const second = await signIn();
    const one = await t.http.get('/api/devices').set(auth(first.token)).expect(200);
    expect(one.headers.link).toBeUndefined();
    expect(one.body.map(({ id }: { id: number }) => id)).toEqual([first.device_id, second.device_id]);
    await signIn();
    const paged = await t.http.get('/api/devices').set(auth(first.token)).expect(200);
    expect(nextLink(paged.headers.link)).toBe(`/api/devices/?after=${second.device_id}`);
    const rest = await t.http.get(nextLink(paged.headers.link)!).set(auth(first.token)).expect(200);
    expect(rest.body).toHaveLength(1);
    expect(rest.headers.link).toBeUndefined();
  });

  it('"after" is read hostilely: 400 for anything but 0 or a storable id; never another user’s devices', async () => {
    t = await createTestApp();
    const alice = await login(t, ALICE);
    const bob = await login(t, BOB);
    for (const query of ['after=-1', 'after=1.5', 'after=abc', 'after=1e3', 'after=', 'after=%201', 'after=2147483648', 'after=99999999999999999999', 'after=1&after=2', 'after=0x1']) {
      const response = await t.http.get(`/devices/?${query}`).set(auth(alice.token));
      expect(response.status, query).toBe(400);
      expect(response.body.message, query).toMatch(/"after"/);
    }
    expect((await t.http.get('/devices/?after=0').set(auth(alice.token)).expect(200)).body.map(({ id }: { id: number }) => id)).toEqual([alice.device_id]);
    expect((await t.http.get('/devices/?after=2147483647').set(auth(alice.token)).expect(200)).body).toEqual([]);
    expect((await t.http.get(`/devices/?after=${alice.device_id}`).set(auth(alice.token)).expect(200)).body).toEqual([]);
    expect((await t.http.get('/devices/?after=0&other=x').set(auth(bob.token)).expect(200)).body.map(({ id }: { id: number }) => id)).toEqual([bob.device_id]);
    for (const query of ['after[]=1', 'after[x]=1', 'after.x=1']) {
      // Not "after" to the query parser (alice's own page), or a refused "after": 200 or 400, never another user's rows.
      const response = await t.http.get(`/devices/?${query}`).set(auth(alice.token));
      expect([200, 400], query).toContain(response.status);
      if (response.status === 200) expect(response.body.map(({ id }: { id: number }) => id), query).toEqual([alice.device_id]);
    }
    expect((await t.http.get('/devices/?after=abc')).status).toBe(401); // authentication first
  });

  it('DevicesService.list() pages the same way: { devices, next }', async () => {
    t = await createTestApp({ options: { devicesPageSize: 3 } });
    await insertDevices(t, '7', 7);
    const service = t.app.get(DevicesService);
    const first = await service.list(7);
    expect(first.devices).toHaveLength(3);
    const second = await service.list('7', null, { after: first.next });
    const third = await service.list('7', null, { after: second.next });
    expect([first.next, second.next, third.next]).toEqual([first.devices[2]!.id, second.devices[2]!.id, null]);
    expect(third.devices).toHaveLength(1);
    await expect(service.list('7', null, { after: -1 })).rejects.toThrow(/"after"/);
  });

  it('refuses a devicesPageSize outside 1…1000 at start-up, naming the option', async () => {
    for (const devicesPageSize of [0, 1_001, 1.5, Number.NaN]) {
      await expect(createTestApp({ options: { devicesPageSize } })).rejects.toThrow(/devicesPageSize/);
    }
  });
});
