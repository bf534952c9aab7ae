import { describe, expect, it } from 'vitest';
import { isStorableId, MAX_DEVICE_ID, parseDeviceId } from './device-store.js';

describe('parseDeviceId', () => {
  it.each<[unknown, number]>([
    ['1', 1],
    ['42', 42],
    ['007', 7],
    [String(MAX_DEVICE_ID), MAX_DEVICE_ID],
    [5, 5],
    [1, 1],
    [MAX_DEVICE_ID, MAX_DEVICE_ID],
  ])('%j → %d', (value, id) => {
    expect(parseDeviceId(value)).toBe(id);
  });

  it.each<unknown>([
    '0',
    '00',
    '-1',
    '+1',
    '1.5',
    '1.0',
    '1e3',
    '0x10',
    ' 1',
    '1 ',
    '1\n',
    'abc',
    '1abc',
    '',
    '١',
    '１',
    null,
    undefined,
    [],
    ['1'],
    {},
    { id: 1 },
    true,
    0,
    -0,
    -1,
    1.5,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    1e30,
  ])('%j → undefined', (value) => {
    expect(parseDeviceId(value)).toBeUndefined();
  });

  it('a bigint → undefined', () => {
    expect(parseDeviceId(1n)).toBeUndefined();
  });

  it.each<unknown>([MAX_DEVICE_ID + 1, String(MAX_DEVICE_ID + 1), '99999999999999999999', '9'.repeat(30), 1e20])(
    '%j (past the largest id) → Infinity',
    (value) => {
      expect(parseDeviceId(value)).toBe(Number.POSITIVE_INFINITY);
    },
  );

  it('a positive integer of any number of digits past the largest id → Infinity (a 404, not a 400)', () => {
    expect(parseDeviceId('9'.repeat(31))).toBe(Number.POSITIVE_INFINITY);
    expect(parseDeviceId('9'.repeat(40))).toBe(Number.POSITIVE_INFINITY);
    expect(parseDeviceId('1'.repeat(1_000))).toBe(Number.POSITIVE_INFINITY);
  });
});

describe('isStorableId', () => {
  it.each([1, 42, MAX_DEVICE_ID])('%d can name a stored device', (id) => {
    expect(isStorableId(id)).toBe(true);
  });

  it.each([0, -1, 1.5, MAX_DEVICE_ID + 1, Number.POSITIVE_INFINITY, Number.NaN, Number.MAX_SAFE_INTEGER + 2])('%d cannot', (id) => {
    expect(isStorableId(id)).toBe(false);
  });

  it('refuses what parseDeviceId turns into Infinity (so the store is never asked)', () => {
    expect(isStorableId(parseDeviceId(String(MAX_DEVICE_ID + 1))!)).toBe(false);
  });
});
