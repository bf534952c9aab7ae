import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';

/** Debian's `chromium` (`apt-get install chromium`; `.ci/run` installs it), or `CHROMIUM_PATH`. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

/**
 * Why the browser tests cannot run here (no Chromium), or null. Under CI=true a missing browser is an
 * error, as a missing database is; on a laptop the suite is skipped with this one-line reason.
 */
export function browserMissing(): string | null {
  if (existsSync(CHROMIUM_PATH)) return null;
  const reason = `no Chromium at ${CHROMIUM_PATH} (apt-get install chromium, or set CHROMIUM_PATH)`;
  if (process.env.CI) throw new Error(`CI=true but ${reason}.`);
  console.warn(`[skip] browser tests: ${reason}.`);
  return reason;
}

/** Headless Chromium, without the background traffic (updates, sync) that these offline machines cannot serve. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/**
 * A new page in `context` whose console errors and uncaught exceptions land in `problems`. None is
 * expected: Chromium logs every 4xx answer to a fetch as a console error, and the page asks nothing that
 * a signed-out browser gets refused (the refresh answers it `{token: null}`).
 */
export async function watchedPage(context: BrowserContext, problems: string[]): Promise<Page> {
  const page = await context.newPage();
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()} (${message.location().url})`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  return page;
}

/** Another site's server: a blank page at `/`, and at `/form` a form that posts `fields` to `action` when submitted. */
export interface OtherSite {
  origin: string;
  /** The URL of a page with one form (`Submit` button) built from these. */
  formUrl(action: string, fields: Record<string, string>, enctype?: string): string;
  close(): Promise<void>;
}

/** Serves {@link OtherSite} on `host` (127.0.0.2: another site; 127.0.0.1: another origin of the same site). */
export async function serveOtherSite(host: string): Promise<OtherSite> {
  const server: Server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://x');
    const form = url.pathname === '/form' ? (JSON.parse(url.searchParams.get('spec') ?? '{}') as FormSpec) : undefined;
    response.setHeader('Content-Type', 'text/html; charset=utf-8');
    response.end(`<!doctype html><title>Another site</title>${form ? formHtml(form) : '<p>Nothing to see here.</p>'}`);
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const origin = `http://${host}:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    formUrl: (action, fields, enctype = 'application/x-www-form-urlencoded') =>
      `${origin}/form?${new URLSearchParams({ spec: JSON.stringify({ action, fields, enctype }) })}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

interface FormSpec {
  action: string;
  enctype: string;
  fields: Record<string, string>;
}

function formHtml({ action, enctype, fields }: FormSpec): string {
  const inputs = Object.entries(fields).map(([name, value]) => `<input type="hidden" name="${escape(name)}" value="${escape(value)}">`);
  return `<form method="post" action="${escape(action)}" enctype="${escape(enctype)}">${inputs.join('')}<button>Submit</button></form>`;
}

function escape(text: string): string {
  return text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);
}
