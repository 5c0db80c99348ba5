// Makes `node_modules/.bin/steerdns` point at the built CLI after `npm install` in this repository,
// so the project's own checkout can be driven like an installed package (the shared bench harness
// runs `node_modules/.bin/steerdns serve`). npm links bins only for dependencies, not for the root.
import { chmodSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'dist', 'cli.js');
const binDir = join(root, 'node_modules', '.bin');
const link = join(binDir, 'steerdns');
chmodSync(cli, 0o755);
mkdirSync(binDir, { recursive: true });
rmSync(link, { force: true });
symlinkSync(relative(binDir, cli), link);
