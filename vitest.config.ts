import { fileURLToPath } from 'node:url';
import swc from 'unplugin-swc';
import { defineConfig, type TestProjectInlineConfiguration } from 'vitest/config';
import { DATABASE_SERVERS } from './test/support/databases.js';
import { reachable } from './test/support/reachable.js';

const E2E = ['test/**/*.e2e-spec.ts'];
const ADAPTERS = ['express', 'fastify'];
/** Suites about the database alone (and the packaging test): they run once per database, under Express. */
const DATABASE_ONLY = ['test/migrations.e2e-spec.ts', 'test/migrations-upgrade.e2e-spec.ts', 'test/device-store.e2e-spec.ts', 'test/time-zones.e2e-spec.ts', 'test/migrations-cli.e2e-spec.ts', 'test/scale.e2e-spec.ts', 'test/database-faults.e2e-spec.ts', 'test/packaging.e2e-spec.ts'];

/**
 * The e2e suite runs once per database, and on SQLite once more on Fastify: the HTTP adapter and the
 * database are independent layers, so Express × every database plus Fastify × SQLite covers both
 * without running the suite six times. SQLite always; PostgreSQL and MariaDB when their server
 * answers. Under CI=true a missing server fails the run instead of skipping it.
 */
async function databaseProjects(): Promise<TestProjectInlineConfiguration[]> {
  const project = (kind: string, adapter: string, include: string[]): TestProjectInlineConfiguration => ({
    extends: true,
    test: {
      name: `e2e:${kind}${adapter === 'express' ? '' : `:${adapter}`}`,
      include,
      exclude: adapter === 'express' ? [] : DATABASE_ONLY,
      env: { TEST_DATABASE: kind, TEST_HTTP_ADAPTER: adapter },
    },
  });
  const projects = ADAPTERS.map((adapter) => project('sqlite', adapter, [...E2E, 'example/**/*.e2e-spec.ts']));
  for (const kind of ['postgres', 'mariadb'] as const) {
    const server = DATABASE_SERVERS[kind];
    if (await reachable(server)) {
      projects.push(project(kind, 'express', E2E));
    } else if (process.env.CI) {
      throw new Error(`CI=true but ${kind} is not reachable at ${server.host}:${server.port}; start it (see README, "Testing").`);
    } else {
      console.warn(`[skip] e2e:${kind}: no server at ${server.host}:${server.port} (set TEST_${kind.toUpperCase()}_HOST/PORT to use one).`);
    }
  }
  return projects;
}

export default defineConfig({
  plugins: [
    // Nest's dependency injection reads decorator metadata, which esbuild does not emit.
    swc.vite({
      jsc: {
        parser: { syntax: 'typescript', decorators: true },
        transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
        target: 'es2022',
      },
    }),
  ],
  resolve: {
    // The example app imports the package by name, as users do; tests run it from source.
    alias: { 'nestjs-jwt-devices': fileURLToPath(new URL('./lib/index.ts', import.meta.url)) },
  },
  test: {
    testTimeout: 30_000,
    hookTimeout: 120_000,
    projects: [{ extends: true, test: { name: 'unit', include: ['lib/**/*.spec.ts'] } }, ...(await databaseProjects())],
  },
});
