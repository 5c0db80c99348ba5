// `npm install` / `npm ci` in this repository: builds dist/ and links node_modules/.bin/steerdns.
// A production install without the dev dependencies (`npm ci --omit=dev`) cannot compile TypeScript:
// it keeps a dist/ built earlier (`npm ci && npm run build && npm prune --omit=dev`), or says what to do.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
let haveTypescript = true;
try {
  require.resolve('typescript');
} catch {
  haveTypescript = false;
}
if (haveTypescript) {
  execFileSync(process.execPath, [join(root, 'tools', 'country-points.mjs')], { stdio: 'inherit' });
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', join(root, 'tsconfig.json')], { stdio: 'inherit' });
} else if (!existsSync(join(root, 'dist', 'cli.js'))) {
  console.error('steerdns: no dev dependencies to build with. Install with `npm ci && npm run build && npm prune --omit=dev`.');
  process.exit(0);
}
execFileSync(process.execPath, [join(root, 'tools', 'link-bin.mjs')], { stdio: 'inherit' });
