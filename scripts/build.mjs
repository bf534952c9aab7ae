// Builds the package: the ES module build into <outDir> and the CommonJS build into <outDir>/cjs, whose
// own package.json says "type": "commonjs". Usage: node scripts/build.mjs [--outDir dist]
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const flag = process.argv.indexOf('--outDir');
const outDir = flag === -1 ? 'dist' : process.argv[flag + 1];
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--outDir', outDir], { stdio: 'inherit' });
execFileSync(process.execPath, [tsc, '-p', 'tsconfig.cjs.json', '--outDir', join(outDir, 'cjs')], { stdio: 'inherit' });
writeFileSync(join(outDir, 'cjs', 'package.json'), `${JSON.stringify({ type: 'commonjs' })}\n`);
