import { describeValue, JwtDevicesOptionsError } from './jwt-devices.errors.js';

/**
 * A length of time: a number of seconds, or a string such as `'1500ms'`, `'4s'`, `'30m'`, `'12h'`, `'7d'`.
 */
export type Duration = number | `${number}${DurationUnit}`;

type DurationUnit = 'ms' | 's' | 'm' | 'h' | 'd';

const UNIT_MS: Record<DurationUnit, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;

/**
 * Parses a {@link Duration} into milliseconds.
 *
 * @param option the option's name, so a bad value's error tells the user which setting to fix.
 * @throws JwtDevicesOptionsError when the value is not a finite, non-negative duration.
 */
export function parseDuration(value: unknown, option: string): number {
  let ms: number | undefined;
  if (typeof value === 'number') {
    ms = value * 1_000;
  } else if (typeof value === 'string') {
    const match = DURATION.exec(value.trim());
    if (match) ms = Number(match[1]) * UNIT_MS[match[2] as DurationUnit];
  }
  if (ms === undefined || !Number.isFinite(ms) || ms < 0) {
    throw new JwtDevicesOptionsError(
      option,
      `must be a duration such as '1500ms', '4s', '30m', '12h', '7d' or a number of seconds; got ${describeValue(value)}.`,
    );
  }
  return Math.round(ms);
}
