import { describe, expect, it } from 'vitest';
import { parseDuration } from './duration.js';
import { JwtDevicesError, JwtDevicesOptionsError } from './jwt-devices.errors.js';

describe('parseDuration', () => {
  it.each([
    ['1500ms', 1_500],
    ['4s', 4_000],
    ['30m', 1_800_000],
    ['12h', 43_200_000],
    ['7d', 604_800_000],
    ['0s', 0],
    ['1.5s', 1_500],
    ['0ms', 0],
  ])('parses %j as %d ms', (value, ms) => {
    expect(parseDuration(value, 'someOption')).toBe(ms);
  });

  it.each([
    [0, 0],
    [1, 1_000],
    [4, 4_000],
    [300, 300_000],
    [0.5, 500],
    [1.5, 1_500],
    [0.001, 1],
    [0.0004, 0],
  ])('parses the number of seconds %d as %d ms (rounded to whole ms)', (value, ms) => {
    expect(parseDuration(value, 'someOption')).toBe(ms);
  });

  it('always returns an integer number of milliseconds', () => {
    for (const value of [0.0015, 1.2345, '0.5ms', '1.0005s']) {
      expect(Number.isInteger(parseDuration(value, 'x'))).toBe(true);
    }
  });

  it.each<[string, unknown]>([
    ['empty string', ''],
    ['digits without a unit', '5'],
    ['an unknown unit', '5w'],
    ['a negative string', '-1s'],
    ['words', 'abc'],
    ['a unit without a number', 's'],
    ['a unit in capitals', '5S'],
    ['a space between number and unit', '5 s'],
    ['two durations', '1h30m'],
    ['an exponent', '1e3s'],
    ['a string overflowing to Infinity', `${'9'.repeat(400)}d`],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['-Infinity', Number.NEGATIVE_INFINITY],
    ['a negative number', -1],
    ['a tiny negative number', -0.5],
    ['null', null],
    ['undefined', undefined],
    ['an object', {}],
    ['an array', [5]],
    ['true', true],
    ['false', false],
    ['a bigint', 5n],
    ['an object that cannot be shown as JSON', (() => { const o: Record<string, unknown> = {}; o.self = o; return o; })()],
    ['a symbol', Symbol('5s')],
  ])('rejects %s with a JwtDevicesOptionsError naming the option', (_label, value) => {
    let caught: unknown;
    try {
      parseDuration(value, 'permanentTokenExpirationAccuracy');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(JwtDevicesOptionsError);
    expect(caught).toBeInstanceOf(JwtDevicesError);
    const error = caught as JwtDevicesOptionsError;
    expect(error.option).toBe('permanentTokenExpirationAccuracy');
    expect(error.message).toContain('permanentTokenExpirationAccuracy');
    expect(error.name).toBe('JwtDevicesOptionsError');
  });

  it('names whichever option it was given', () => {
    expect(() => parseDuration('5w', 'jwtExpiration')).toThrow(/"jwtExpiration"/);
    expect(() => parseDuration('5w', 'permanentTokenExpiration')).toThrow(/"permanentTokenExpiration"/);
  });

  it('shows the bad value and an example of a good one in the message', () => {
    expect(() => parseDuration('5w', 'jwtExpiration')).toThrow(/"5w"/);
    expect(() => parseDuration('5w', 'jwtExpiration')).toThrow(/'30m'/);
  });
});
