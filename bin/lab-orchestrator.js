#!/usr/bin/env node
import { spawnSync } from 'node:child_process';
// The admin CLI. Runs the compiled CLI (npm run build:server), or the
// TypeScript source through tsx in a development checkout.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const compiled = join(root, 'dist/server/cli/main.js');
if (existsSync(compiled)) {
  await import(compiled);
} else {
  const tsx = join(root, 'node_modules/.bin/tsx');
  const result = spawnSync(tsx, [join(root, 'server/cli/main.ts'), ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(result.status ?? 2);
}
