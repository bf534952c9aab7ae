import type { IncomingMessage, ServerResponse } from 'node:http';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { Browser, BrowserContext, Page, Response } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ALICE, BOB, startApp } from '../../test/support/test-app.js';
import { AppModule } from '../src/app.module.js';
import { readConfig } from '../src/config.js';
import { DevicesService } from 'nestjs-jwt-devices';
import { browserMissing, launchChromium, type OtherSite, serveOtherSite, watchedPage } from './support/browser.js';

// The few browser globals that callbacks run in the page use (this project compiles without the DOM library).
declare const document: { cookie: string };
declare const localStorage: Storage;
declare const sessionStorage: Storage;
interface Storage {
  length: number;
}

/** A short JWT, so that the page renews it every 3.2 s and a revoked device finds out within seconds. */
const JWT_LIFETIME_S = 4;
const NEXT_RENEWAL_MS = (JWT_LIFETIME_S + 2) * 1000;

/** The device manager page at GET / in a real Chromium, against the example app on 127.0.0.1. */
describe.skipIf(browserMissing())('the device manager page in Chromium', () => {
  let browser: Browser;
  let app: INestApplication;
  let origin: string;
  let problems: string[];
  /** Every request the app received, as the server saw it. */
  let requests: { origin?: string; request: string; marker?: string | string[]; status: number }[];

  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(() => browser?.close());

  beforeEach(async () => {
    const env = { DATABASE_URL: 'sqlite::memory:', JWT_EXPIRATION_DELTA: `${JWT_LIFETIME_S}s`, THROTTLE_LOGIN_PER_MINUTE: '0', THROTTLE_REFRESH_PER_MINUTE: '0' };
    const moduleRef = await Test.createTestingModule({ imports: [AppModule.register(readConfig(env))] }).compile();
    app = await startApp(moduleRef, ['error']);
    await app.listen(0, '127.0.0.1');
    origin = `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}`;
    problems = [];
    requests = [];
    app.getHttpServer().on('request', (request: IncomingMessage, response: ServerResponse) => {
      const entry = { origin: request.headers.origin, request: `${request.method} ${request.url}`, marker: request.headers['permanent-token-transport'], status: 0 };
      requests.push(entry);
      response.on('finish', () => (entry.status = response.statusCode));
    });
  });
  afterEach(async () => {
    for (const context of browser.contexts()) await context.close();
    await app.close();
    expect(problems, 'console errors and uncaught exceptions on the page').toEqual([]);
  });

  /** A fresh browser profile (a device) with the page open. Any console error on it fails the test. */
  async function openPage(): Promise<Page> {
    const context = await browser.newContext();
    const page = await watchedPage(context, problems);
    await page.goto(origin);
    return page;
  }

  /** The app's answers of status 400 or more, as the server saw them. */
  const refused = () => requests.filter((entry) => entry.status >= 400);

  const devices = (page: Page) => page.getByRole('list', { name: 'Devices' }).getByRole('listitem');
  const thisDevice = (page: Page) => devices(page).filter({ hasText: 'This device' });
  const signInButton = (page: Page) => page.getByRole('button', { name: 'Sign in' });

  async function signIn(page: Page, user = ALICE): Promise<Response> {
    await page.getByLabel('Username').fill(user.username);
    await page.getByLabel('Password').fill(user.password);
    const [login] = await Promise.all([page.waitForResponse(`${origin}/auth-token/`), signInButton(page).click()]);
    await thisDevice(page).waitFor();
    return login;
  }

  async function permanentCookie(context: BrowserContext) {
    const cookies = await context.cookies();
    expect(cookies).toHaveLength(1);
    return cookies[0]!;
  }

  it('signs in by the accessible names, and no script on the page can read the permanent token', async () => {
    const page = await openPage();
    // No inline script or style runs on the page: only this origin's own files.
    expect((await page.request.get(origin)).headers()['content-security-policy']).toMatch(/^default-src 'none'; script-src 'self';/);
    const login = await signIn(page);
    expect(await page.getByText('Signed in as alice.').isVisible()).toBe(true);
    expect(await devices(page).count()).toBe(1);
    expect(await thisDevice(page).getByRole('button', { name: 'Sign out', exact: true }).count()).toBe(0);

    const cookie = await permanentCookie(page.context());
    expect(cookie).toMatchObject({ domain: '127.0.0.1', path: '/device-refresh-token', httpOnly: true, secure: true, sameSite: 'Strict' });
    // The __Secure- prefix: Chromium lets only a secure page (https, or this loopback host) set or overwrite it.
    expect(cookie.name).toMatch(/^__Secure-/);
    expect(cookie.value.length).toBeGreaterThanOrEqual(43);
    const loginBody = await login.json();
    expect(Object.keys(loginBody).sort()).toEqual(['device_id', 'token']);

    // Everything a script of this origin can reach: cookies, storage, and the refresh answer itself.
    const visible = await page.evaluate(async () => {
      const refresh = await fetch('/device-refresh-token/', { method: 'POST', headers: { 'Permanent-Token-Transport': 'cookie' }, credentials: 'same-origin' });
      return {
        cookie: document.cookie,
        storage: [localStorage.length, sessionStorage.length],
        refresh: { status: refresh.status, headers: [...refresh.headers].join('\n'), body: await refresh.text() },
      };
    });
    expect(visible.cookie).toBe('');
    expect(visible.storage).toEqual([0, 0]);
    expect(visible.refresh.status).toBe(200);
    expect(Object.keys(JSON.parse(visible.refresh.body))).toEqual(['token']);
    expect(visible.refresh.headers + visible.refresh.body).not.toContain(cookie.value);
  });

  it('signed out is no error: a first visit and a window whose device was signed out elsewhere get no 4xx and log nothing', async () => {
    const page = await watchedPage(await browser.newContext(), problems);
    const [firstVisit] = await Promise.all([page.waitForResponse(`${origin}/device-refresh-token/`), page.goto(origin)]);
    await signInButton(page).waitFor();
    expect({ status: firstVisit.status(), body: await firstVisit.json() }).toEqual({ status: 200, body: { token: null } });
    await signIn(page);
    const other = await openPage();
    await signIn(other);
    await other.reload();
    await expectDeviceCount(other, 2);
    await devices(other).filter({ hasNotText: 'This device' }).getByRole('button', { name: 'Sign out', exact: true }).click();
    await expectDeviceCount(other, 1);
    // Back in the first window (the event that switching windows sends): it finds out without a refused request.
    await page.evaluate("window.dispatchEvent(new Event('focus'))");
    await signInButton(page).waitFor();
    expect(await page.getByRole('alert').textContent()).toMatch(/session on this device has ended/);
    expect(await page.context().cookies()).toEqual([]);
    // A reload, signed out, is the first visit again.
    await page.reload();
    await signInButton(page).waitFor();
    expect(refused()).toEqual([]);
  });

  it('lists every device of a user with more than one page of them (it follows the Link header)', async () => {
    const page = await openPage();
    await signIn(page);
    const service = app.get(DevicesService);
    for (let i = 0; i < 130; i++) await service.issue({ id: 1, username: 'alice' }, { headers: { 'x-device-model': `Phone ${i}` } });
    await page.reload();
    await thisDevice(page).waitFor();
    await expect.poll(() => devices(page).count()).toBe(131);
    await devices(page).filter({ hasText: 'Phone 129' }).waitFor();
  });

  it('keeps the session across a reload (the cookie renews the JWT), on the same device', async () => {
    const page = await openPage();
    await signIn(page);
    const cookie = await permanentCookie(page.context());
    await page.reload();
    await thisDevice(page).waitFor();
    expect(await devices(page).count()).toBe(1);
    expect(await signInButton(page).isVisible()).toBe(false);
    expect((await permanentCookie(page.context())).value).toBe(cookie.value);
    expect(await page.evaluate(() => [localStorage.length, sessionStorage.length])).toEqual([0, 0]);
  });

  it('shows two browsers of one user as two devices, "This device" on each its own; renames one and signs the other out', async () => {
    const first = await openPage();
    await signIn(first);
    const second = await openPage();
    await signIn(second);
    // Back in the first window, the list shows the new device. (Headless Chromium keeps every page
    // focused, so the test sends the event that switching windows sends.)
    await first.evaluate("window.dispatchEvent(new Event('focus'))");
    await expectDeviceCount(first, 2);
    expect(await thisDevice(first).count()).toBe(1);

    // Rename the first browser's own device; the second browser sees that name on a device that is not its own.
    await thisDevice(first).getByRole('button', { name: 'Rename' }).click();
    await thisDevice(first).getByLabel('New name').fill('Work laptop');
    await thisDevice(first).getByRole('button', { name: 'Save' }).click();
    await thisDevice(first).filter({ hasText: 'Work laptop' }).waitFor();
    await second.reload();
    await thisDevice(second).waitFor();
    expect(await devices(second).filter({ hasText: 'Work laptop' }).filter({ hasNotText: 'This device' }).count()).toBe(1);
    expect(await thisDevice(second).filter({ hasText: 'Work laptop' }).count()).toBe(0);

    // The first browser signs the second out with that device's own button; the second is out at its next renewal.
    await devices(first).filter({ hasNotText: 'This device' }).getByRole('button', { name: 'Sign out', exact: true }).click();
    await expectDeviceCount(first, 1);
    await signInButton(second).waitFor({ timeout: NEXT_RENEWAL_MS });
    expect(await second.getByRole('alert').textContent()).toMatch(/session on this device has ended/);
    expect(await second.context().cookies()).toEqual([]);
    await first.reload();
    await thisDevice(first).filter({ hasText: 'Work laptop' }).waitFor();
  });

  it('"Sign out other devices" ends the other browser’s session at its next renewal, without a reload', async () => {
    const first = await openPage();
    await signIn(first);
    const second = await openPage();
    await signIn(second);
    await first.reload();
    await expectDeviceCount(first, 2);
    await first.getByRole('button', { name: 'Sign out other devices' }).click();
    await expectDeviceCount(first, 1);
    await signInButton(second).waitFor({ timeout: NEXT_RENEWAL_MS });
    expect(await second.context().cookies()).toEqual([]);
    // The first browser goes on renewing.
    await first.waitForResponse((response) => response.url() === `${origin}/device-refresh-token/` && response.status() === 200, { timeout: NEXT_RENEWAL_MS });
    expect(await signInButton(first).isVisible()).toBe(false);
  });

  it('logs out: the device is gone, its cookie cleared, and a reload shows the sign-in form', async () => {
    const page = await openPage();
    await signIn(page);
    await page.getByRole('button', { name: 'Log out' }).click();
    await signInButton(page).waitFor();
    expect(await page.context().cookies()).toEqual([]);
    await page.reload();
    await signInButton(page).waitFor();
    expect(await page.getByRole('list', { name: 'Devices' }).isVisible()).toBe(false);
    await signIn(page);
    expect(await devices(page).count()).toBe(1);
  });

  it('refuses cross-site and cross-origin requests that would use the cookie, and they change nothing', async () => {
    const victim = await openPage();
    await signIn(victim);
    const cookie = await permanentCookie(victim.context());
    // Another site (127.0.0.2: the cookie is SameSite=Strict, so Chromium leaves it out) and another
    // origin of the same site (another port: Chromium sends the cookie, the server must refuse).
    const attackers = await Promise.all([serveOtherSite('127.0.0.2'), serveOtherSite('127.0.0.1')]);
    try {
      for (const attacker of attackers) {
        const page = await victim.context().newPage();
        await page.goto(attacker.origin);
        const answers: Response[] = [];
        page.on('response', (response) => {
          if (response.url().startsWith(origin)) answers.push(response);
        });

        // A form posted to the refresh route, and a JSON-looking text/plain login (login CSRF into bob's account).
        await postForm(page, attacker, `${origin}/device-refresh-token/`, { anything: 'x' });
        await postForm(page, attacker, `${origin}/auth-token/`, { '{"username":"bob","password":"bob-password","x":"': '"}' }, 'text/plain');
        await page.goto(attacker.origin);

        // Scripts: a simple credentialed POST, one with the transport marker (needs a CORS preflight), and a no-cors one.
        const fetched = await page.evaluate(async (target) => {
          const attempt = (init: RequestInit) =>
            fetch(`${target}/device-refresh-token/`, { method: 'POST', credentials: 'include', ...init }).then(
              async (response) => `read ${response.status} ${response.type} ${await response.text()}`,
              (error: Error) => `blocked: ${error.name}`,
            );
          return [
            await attempt({}),
            await attempt({ headers: { 'Permanent-Token-Transport': 'cookie' } }),
            await attempt({ mode: 'no-cors', headers: { 'Permanent-Token-Transport': 'cookie' } }),
          ];
        }, origin);
        expect(fetched, attacker.origin).toEqual(['blocked: TypeError', 'blocked: TypeError', 'read 0 opaque ']);

        // What reached the app: both forms, the simple fetch (its answer withheld from the script: no
        // Access-Control-Allow-Origin), the preflight of the marked fetch (refused, so its POST was never
        // sent), and the no-cors fetch, whose marker the browser dropped. Each refused, none with the marker.
        const refresh = 'POST /device-refresh-token/';
        expect(requests.filter((request) => request.origin === attacker.origin).map(({ request, marker, status }) => ({ request, marker, status }))).toEqual([
          { request: refresh, marker: undefined, status: 400 },
          { request: 'POST /auth-token/', marker: undefined, status: 415 },
          { request: refresh, marker: undefined, status: 400 },
          { request: 'OPTIONS /device-refresh-token/', marker: undefined, status: 404 },
          { request: refresh, marker: undefined, status: 400 },
        ]);
        for (const answer of answers) expect(await answer.headerValue('set-cookie'), answer.url()).toBeNull();
        // SameSite=Strict keeps the cookie off another site's form post. Another port of this host is the same
        // site, so that form post carries it, and the server refuses it because a form cannot send the marker.
        const formPostCookie = await answers[0]!.request().headerValue('cookie');
        expect(formPostCookie?.includes(cookie.value) ?? false, attacker.origin).toBe(attacker.origin.startsWith('http://127.0.0.1:'));
        await page.close();
      }
    } finally {
      await Promise.all(attackers.map((attacker) => attacker.close()));
    }

    // Nothing changed: the victim keeps the very same cookie, its one device, and its session.
    expect(await permanentCookie(victim.context())).toEqual(cookie);
    await victim.reload();
    await thisDevice(victim).waitFor();
    await expectDeviceCount(victim, 1);
    const bob = await openPage();
    await signIn(bob, BOB);
    expect(await devices(bob).count()).toBe(1);
  });

  async function expectDeviceCount(page: Page, count: number): Promise<void> {
    await expect.poll(() => devices(page).count()).toBe(count);
  }

  /** Opens the other site's page with a form and submits it: a top-level POST navigation to `action`. */
  async function postForm(page: Page, site: OtherSite, action: string, fields: Record<string, string>, enctype?: string): Promise<void> {
    await page.goto(site.formUrl(action, fields, enctype));
    await Promise.all([page.waitForResponse(action), page.getByRole('button', { name: 'Submit' }).click()]);
  }
});
