import type { DataSource } from 'typeorm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEVICE_TABLE } from '../lib/index.js';
import { currentDatabaseKind } from './support/databases.js';
import { SECOND } from './support/fake-clock.js';
import { createTestApp, login, type TestApp } from './support/test-app.js';

/**
 * Device times are UTC instants whatever the process's time zone. Node applies a change of
 * process.env.TZ at once; Vitest runs each test file in its own process (pool: forks).
 */

const kind = currentDatabaseKind();
let t: TestApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

/** A timestamp column as the database holds it, as text in UTC: `YYYY-MM-DD HH:MM:SS.mmm`. */
async function storedUtc(source: DataSource, column: string): Promise<string[]> {
  const schema = (source.options as { schema?: string }).schema;
  const table = schema ? `"${schema}".${DEVICE_TABLE}` : DEVICE_TABLE;
  const expression = {
    sqlite: column,
    postgres: `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.MS')`,
    mariadb: `CAST(${column} AS CHAR)`,
  }[kind];
  const rows: Array<{ value: string }> = await source.query(`SELECT ${expression} AS value FROM ${table} ORDER BY id`);
  return rows.map(({ value }) => value);
}

const text = (iso: string) => iso.replace('T', ' ').replace('Z', '');

const ZONES = [
  // Tokyo: +09:00 all year. New York: 2026-11-01 repeats 01:00–02:00 local (05:00–07:00Z), and
  // 2026-03-08 skips 02:00–03:00 local; a UTC wall time in that gap, read as local, moves by an hour.
  { zone: 'Asia/Tokyo', januaryOffset: -540, instants: ['2026-01-01T00:00:00.000Z', '2026-06-30T15:59:59.999Z'] },
  { zone: 'America/New_York', januaryOffset: 300, instants: ['2026-11-01T05:30:00.000Z', '2026-11-01T06:30:00.000Z', '2026-03-08T02:30:00.000Z'] },
];

describe.each(ZONES)(`device times in UTC with TZ=$zone (${kind})`, ({ zone, januaryOffset, instants }) => {
  let previous: string | undefined;
  beforeAll(() => {
    previous = process.env.TZ;
    process.env.TZ = zone;
  });
  afterAll(() => {
    if (previous === undefined) delete process.env.TZ;
    else process.env.TZ = previous;
  });

  it('the process really runs in that zone (else the test below proves nothing)', () => {
    expect(new Date(2026, 0, 1).getTimezoneOffset()).toBe(januaryOffset);
  });

  it('stores login and refresh times as their UTC instants, and reads them back exactly (DST: repeated and skipped hours)', async () => {
    t = await createTestApp({ options: { permanentTokenExpirationAccuracy: '1s', permanentTokenExpiration: '365d' } });
    const devices: Array<Awaited<ReturnType<typeof login>>> = [];
    for (const instant of instants) {
      t.clock.advance(Date.parse(instant) - t.clock.now());
      devices.push(await login(t));
    }
    expect(await storedUtc(t.dataSource, 'created')).toEqual(instants.map(text));
    // A refresh an hour after the first login (across the fall-back hour in New York).
    t.clock.advance(Date.parse(instants[0]!) + 3_600 * SECOND - t.clock.now());
    const refreshed = await t.http.post('/device-refresh-token/').set('Permanent-Token', devices[0]!.permanent_token);
    expect(refreshed.status).toBe(200);
    const lastRequest = new Date(Date.parse(instants[0]!) + 3_600 * SECOND).toISOString();
    expect((await storedUtc(t.dataSource, 'last_request_datetime'))[0]).toBe(text(lastRequest));
    const listed = await t.http.get('/devices/').set('Authorization', `JWT ${refreshed.body.token}`);
    expect(listed.body.map((device: { created: string }) => device.created).sort()).toEqual([...instants].sort());
    expect(listed.body.find((device: { id: number }) => device.id === devices[0]!.device_id).last_request_datetime).toBe(lastRequest);
  });

  it.runIf(kind === 'mariadb')("refuses to start on MySQL/MariaDB when the DataSource would write local times (timezone not 'Z')", async () => {
    for (const timezone of ['local', '+09:00']) {
      const started = createTestApp({ typeorm: { timezone } as never });
      await expect(started).rejects.toThrow(/timezone: 'Z'/);
    }
  });
});
