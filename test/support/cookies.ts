import type { IncomingHttpHeaders } from 'node:http';
import { expect } from 'vitest';

/** One parsed `Set-Cookie` line. */
export interface SetCookie {
  name: string;
  value: string;
  /** Attribute names lowercased → value (`true` for flags). */
  attributes: Record<string, string | true>;
  raw: string;
}

type WithHeaders = { headers: IncomingHttpHeaders | Record<string, unknown> };

/** The `Set-Cookie` lines of a response, parsed. */
export function setCookies(response: WithHeaders): SetCookie[] {
  const header = response.headers['set-cookie'] as string | string[] | undefined;
  const lines = header === undefined ? [] : Array.isArray(header) ? header : [header];
  return lines.map((raw) => {
    const [pair, ...rest] = raw.split(';').map((part) => part.trim());
    const eq = pair!.indexOf('=');
    const attributes: Record<string, string | true> = {};
    for (const attribute of rest) {
      const at = attribute.indexOf('=');
      if (at === -1) attributes[attribute.toLowerCase()] = true;
      else attributes[attribute.slice(0, at).toLowerCase()] = attribute.slice(at + 1);
    }
    return { name: pair!.slice(0, eq), value: pair!.slice(eq + 1), attributes, raw };
  });
}

/** The one cookie a response sets; fails when it sets none or several. */
export function theCookie(response: WithHeaders): SetCookie {
  const cookies = setCookies(response);
  expect(cookies, 'exactly one Set-Cookie').toHaveLength(1);
  return cookies[0]!;
}
