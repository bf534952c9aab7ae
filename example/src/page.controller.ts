import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Controller, Get, Header } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';

/** `example/public/`, beside `src/` (tests) and `dist/` (`npm start`). */
const PUBLIC_DIR = join(import.meta.dirname, '..', 'public');

/** Only this origin's own script, style and API: no inline code, so an injected `<script>` does not run. */
const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

/**
 * The device manager page at `GET /`: `public/index.html` and the script and style it loads, read once
 * at start-up. The page signs in with the module's cookie transport (see README, "Browsers").
 */
@ApiExcludeController()
@Controller()
export class PageController {
  private readonly page = readFileSync(join(PUBLIC_DIR, 'index.html'), 'utf8');
  private readonly script = readFileSync(join(PUBLIC_DIR, 'app.js'), 'utf8');
  private readonly style = readFileSync(join(PUBLIC_DIR, 'app.css'), 'utf8');

  @Get()
  @Header('Content-Type', 'text/html; charset=utf-8')
  @Header('Content-Security-Policy', CONTENT_SECURITY_POLICY)
  @Header('Referrer-Policy', 'no-referrer')
  @Header('X-Content-Type-Options', 'nosniff')
  @Header('Cache-Control', 'no-cache')
  index(): string {
    return this.page;
  }

  @Get('app.js')
  @Header('Content-Type', 'text/javascript; charset=utf-8')
  @Header('X-Content-Type-Options', 'nosniff')
  @Header('Cache-Control', 'no-cache')
  app(): string {
    return this.script;
  }

  @Get('app.css')
  @Header('Content-Type', 'text/css; charset=utf-8')
  @Header('X-Content-Type-Options', 'nosniff')
  @Header('Cache-Control', 'no-cache')
  css(): string {
    return this.style;
  }
}
