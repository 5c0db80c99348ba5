// The Dockerfile. No Docker engine runs here, so the image's start command is tested outside Docker:
// the Dockerfile is parsed (multi-stage, `npm ci --omit=dev` in the runtime stage, non-root USER, port 5300
// exposed for UDP and TCP, zones/ and geodb/ volumes, exec-form CMD and HEALTHCHECK), then the runtime stage's
// files are laid out in a temp folder standing for WORKDIR /app — its COPY instructions replayed from the build
// context, the build stage's dist/ copied, node_modules holding only the production packages of
// package-lock.json (what `npm ci --omit=dev` installs) — and the CMD is run there as written, with /app/ mapped
// to the folder. The only edit is the config's addresses: the image listens on wildcard addresses, which a test
// must not bind, so `listen` becomes 127.0.0.1:0 and `http` a free loopback port (substituted into the
// HEALTHCHECK URL as well).

import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import test from 'ava';
import { parse as parseYaml } from 'yaml';
import { dig, ROOT, runCli, spawnLogged, tempDir } from '../helpers/server.js';

// ---- the Dockerfile -----------------------------------------------------------------------------------

interface Instruction {
  op: string;
  args: string;
  line: number;
}

interface Stage {
  from: string;
  name: string | null;
  instructions: Instruction[];
}

/** Instructions of a Dockerfile, by stage (comments dropped, `\` continuations joined). */
function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const start = i;
    let l = lines[i]!.trim();
    if (!l || l.startsWith('#')) continue;
    while (l.endsWith('\\') && i + 1 < lines.length) l = `${l.slice(0, -1).trimEnd()} ${lines[++i]!.trim()}`;
    const m = /^(\w+)\s+(.*)$/.exec(l);
    if (!m) throw new Error(`Dockerfile:${start + 1}: cannot parse "${l}"`);
    const ins = { op: m[1]!.toUpperCase(), args: m[2]!.trim(), line: start + 1 };
    if (ins.op === 'FROM') {
      const f = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args)!;
      stages.push({ from: f[1]!, name: f[2] ?? null, instructions: [] });
    } else {
      if (stages.length === 0) throw new Error(`Dockerfile:${ins.line}: ${ins.op} before FROM`);
      stages.at(-1)!.instructions.push(ins);
    }
  }
  return stages;
}

const ops = (s: Stage, op: string) => s.instructions.filter((i) => i.op === op);

/** An exec-form (JSON array) argument list: the shell-less form, where the process gets signals itself. */
function execForm(args: string, what: string): string[] {
  const v = JSON.parse(args) as unknown;
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string'))
    throw new Error(`${what} is not an exec-form JSON array of strings: ${args}`);
  return v as string[];
}

/** `HEALTHCHECK --opt=v ... CMD [...]` → options and the command. */
function healthcheck(args: string): { options: Record<string, string>; cmd: string[] } {
  const m = /^((?:--[\w-]+=\S+\s+)*)CMD\s+(\[.*\])$/.exec(args);
  if (!m) throw new Error(`HEALTHCHECK is not "[--options] CMD [exec form]": ${args}`);
  const options: Record<string, string> = {};
  for (const o of m[1]!.trim().split(/\s+/).filter(Boolean)) {
    const [k, v] = o.slice(2).split('=') as [string, string];
    options[k] = v;
  }
  return { options, cmd: execForm(m[2]!, 'HEALTHCHECK CMD') };
}

const seconds = (d: string) => {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(d);
  if (!m) throw new Error(`duration ${d}`);
  return Number(m[1]) * (m[2] === 'ms' ? 0.001 : m[2] === 'm' ? 60 : 1);
};

const DOCKERFILE = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
const STAGES = parseDockerfile(DOCKERFILE);
const RUNTIME = STAGES.at(-1)!;
const IMAGE_CONFIG_TEXT = readFileSync(join(ROOT, 'docker', 'steerdns.yaml'), 'utf8');
const IMAGE_CONFIG = parseYaml(IMAGE_CONFIG_TEXT) as { listen: string[]; http: string; zones: string };
const WORKDIR = ops(RUNTIME, 'WORKDIR').at(-1)?.args ?? '/';

test('Dockerfile: multi-stage, npm ci --omit=dev, non-root, port 5300 udp+tcp, zones and geodb volumes, exec-form CMD and HEALTHCHECK', (t) => {
  t.true(STAGES.length >= 2, 'a multi-stage build');
  const build = STAGES[0]!;
  t.truthy(build.name, 'the build stage is named');
  t.regex(build.from, /^node:20/, 'Node 20, as package.json asks');
  t.regex(RUNTIME.from, /^node:20/);
  t.true(
    ops(build, 'RUN').some((r) => /\bnpm ci\b/.test(r.args)),
    'the build stage installs from the lockfile',
  );
  t.true(
    ops(build, 'RUN').some((r) => /\bnpm run build\b/.test(r.args)),
    'the build stage compiles',
  );

  // runtime: production dependencies and compiled code only
  const runs = ops(RUNTIME, 'RUN').map((r) => r.args);
  t.true(
    runs.some((r) => /\bnpm ci\b[^&;]*--omit=dev/.test(r)),
    `the runtime stage runs npm ci --omit=dev: ${runs.join(' | ')}`,
  );
  const copies = ops(RUNTIME, 'COPY').map((c) => c.args);
  t.true(
    copies.some((c) => new RegExp(`^--from=${build.name}\\s+\\S*dist\\s`).test(c)),
    `dist/ comes from the build stage: ${copies.join(' | ')}`,
  );
  t.false(
    copies.some((c) => /(^|\s)(\.\/)?(src|tools|test)(\/|\s|$)/.test(c)),
    'no sources, tools or tests in the image',
  );
  t.is(WORKDIR, '/app');
  t.deepEqual(
    ops(RUNTIME, 'USER').map((u) => u.args),
    ['node'],
    'runs as the unprivileged user "node"',
  );
  const userLine = ops(RUNTIME, 'USER')[0]!.line;
  t.true(
    ops(RUNTIME, 'RUN').every((r) => r.line < userLine),
    'every RUN (npm ci, mkdir, chown) happens before switching to the non-root user',
  );

  // ports: 5300 inside, UDP and TCP, the port the image's config listens on
  const exposed = ops(RUNTIME, 'EXPOSE').flatMap((e) => e.args.split(/\s+/));
  t.true(exposed.includes('5300/udp') && exposed.includes('5300/tcp'), `EXPOSE ${exposed.join(' ')}`);
  t.true(IMAGE_CONFIG.listen.length > 0);
  for (const l of IMAGE_CONFIG.listen) t.regex(l, /:5300$/, `the image's config listens on 5300: ${l}`);
  t.regex(DOCKERFILE, /-p 53:5300\/udp -p 53:5300\/tcp/, 'the publishing of port 53 is documented');

  // volumes
  const volumes = ops(RUNTIME, 'VOLUME').flatMap((v) => (v.args.startsWith('[') ? execForm(v.args, 'VOLUME') : v.args.split(/\s+/)));
  t.true(volumes.includes('/app/zones') && volumes.includes('/app/geodb'), `VOLUME ${volumes.join(' ')}`);
  t.is(resolve(WORKDIR, IMAGE_CONFIG.zones), '/app/zones', 'the config serves the zones volume');

  // CMD and HEALTHCHECK: exec form (the server is PID 1 and gets SIGTERM from `docker stop` itself)
  const cmds = ops(RUNTIME, 'CMD');
  t.is(cmds.length, 1);
  const cmd = execForm(cmds[0]!.args, 'CMD');
  t.deepEqual(cmd.slice(0, 3), ['node', 'dist/cli.js', 'serve']);
  const hcs = ops(RUNTIME, 'HEALTHCHECK');
  t.is(hcs.length, 1);
  const hc = healthcheck(hcs[0]!.args);
  t.is(hc.cmd[0], 'node', 'the health check needs nothing but node (no curl in the slim image)');
  t.regex(hc.cmd.join(' '), /\/healthz/, 'the health check asks /healthz');
  for (const k of ['interval', 'timeout', 'retries']) t.truthy(hc.options[k], `HEALTHCHECK --${k}`);
  t.true(seconds(hc.options.timeout!) < seconds(hc.options.interval!));
  // the health check asks the port the image's config serves HTTP on
  const hcPort = /127\.0\.0\.1:(\d+)\//.exec(hc.cmd.join(' '))?.[1];
  t.truthy(hcPort, 'the health check asks a loopback URL');
  t.is(IMAGE_CONFIG.http.split(':').at(-1), hcPort, `config http: ${IMAGE_CONFIG.http}, health check port ${hcPort}`);
  // the API (targets, check URLs, /explain) stays on the container's loopback unless a token guards it
  const api = IMAGE_CONFIG.http as string | { listen: string; token_file?: string };
  const apiListen = typeof api === 'string' ? api : api.listen;
  const apiToken = typeof api === 'string' ? undefined : api.token_file;
  t.true(
    apiToken !== undefined || /^(127\.\d+\.\d+\.\d+|\[::1\]):\d+$/.test(apiListen),
    `the image's API listens on ${apiListen} without a token: keep it on 127.0.0.1`,
  );
  const env = ops(RUNTIME, 'ENV').map((e) => e.args);
  t.true(env.some((e) => /NODE_ENV[= ]production/.test(e)));
});

test('.dockerignore keeps the local build, modules, state and git out of the context, and nothing the image copies', (t) => {
  const ignore = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  for (const p of ['node_modules', 'dist', '.git', '.steerdns-state']) t.true(ignore.includes(p), `.dockerignore lists ${p}`);
  // every source the build and runtime stages COPY from the context exists and is not ignored
  for (const stage of STAGES) {
    for (const c of ops(stage, 'COPY')) {
      if (c.args.startsWith('--from=')) continue;
      const parts = c.args.split(/\s+/);
      for (const src of parts.slice(0, -1)) {
        t.true(existsSync(join(ROOT, src)), `COPY ${src}: exists in the build context`);
        t.false(
          ignore.some((p) => p === src || p === src.split('/')[0]),
          `COPY ${src}: not excluded by .dockerignore`,
        );
      }
    }
  }
});

// ---- the image's start command, outside Docker --------------------------------------------------------

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = net.createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => res(port));
    });
  });
}

/** The production packages of package-lock.json: what `npm ci --omit=dev` installs at the top level. */
function productionPackages(): string[] {
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
  return Object.entries(lock.packages)
    .filter(([k, v]) => k.startsWith('node_modules/') && k.lastIndexOf('node_modules/') === 0 && !v.dev)
    .map(([k]) => k.slice('node_modules/'.length));
}

/**
 * The runtime stage replayed in `app` (standing for WORKDIR): COPY from the context copies from the repository,
 * COPY --from=<build stage> copies the build's output (the repository's freshly built dist/), `npm ci --omit=dev`
 * links the production packages only, `mkdir -p` makes its folders. Returns what was done, for the log.
 */
function layOut(app: string): string[] {
  const done: string[] = [];
  const buildWorkdir = ops(STAGES[0]!, 'WORKDIR').at(-1)?.args ?? '/';
  for (const ins of RUNTIME.instructions) {
    if (ins.op === 'COPY') {
      const parts = ins.args.split(/\s+/);
      const from = parts[0]!.startsWith('--from=') ? parts.shift()!.slice('--from='.length) : null;
      const dest = parts.pop()!;
      for (const src of parts) {
        // the build stage's files are the repository's (its WORKDIR holds a copy of the context plus dist/)
        const source = from ? join(ROOT, resolve(buildWorkdir, src).slice(buildWorkdir.length)) : join(ROOT, src);
        const target = dest.endsWith('/') ? join(resolve(app, dest), src.split('/').pop()!) : resolve(app, dest);
        mkdirSync(dirname(target), { recursive: true });
        cpSync(source, target, { recursive: true });
        done.push(`COPY ${from ? `--from=${from} ` : ''}${src} → ${target.slice(app.length) || '/'}`);
      }
    } else if (ins.op === 'RUN') {
      for (const step of ins.args.split(/\s*&&\s*/)) {
        if (/^npm ci\b/.test(step)) {
          if (!/--omit=dev/.test(step)) throw new Error(`runtime npm ci without --omit=dev: ${step}`);
          const pkgs = productionPackages();
          for (const p of pkgs) {
            mkdirSync(dirname(join(app, 'node_modules', p)), { recursive: true });
            symlinkSync(join(ROOT, 'node_modules', p), join(app, 'node_modules', p), 'dir');
          }
          done.push(`npm ci --omit=dev → ${pkgs.length} production packages`);
        } else if (/^mkdir -p /.test(step)) {
          for (const d of step.slice('mkdir -p '.length).split(/\s+/)) mkdirSync(resolve(app, d), { recursive: true });
          done.push(step);
        } else done.push(`(skipped: ${step})`); // chown, npm cache clean: nothing to do outside the image
      }
    }
  }
  return done;
}

/** Maps the image's /app/ paths into the folder standing for it, and `node` to this node. */
function localCommand(cmd: string[], app: string): [string, string[]] {
  const args = cmd.map((a) => a.replace(new RegExp(`^${WORKDIR}/`), `${app}/`));
  return [args[0] === 'node' ? process.execPath : args[0]!, args.slice(1)];
}

/** Runs the HEALTHCHECK command as written (its URL's port substituted); resolves with its exit code. */
function runHealthcheck(cmd: string[], app: string, timeoutMs: number): Promise<{ code: number | null; ms: number }> {
  const [bin, args] = localCommand(cmd, app);
  const started = Date.now();
  return new Promise((res) => {
    const child = spawn(bin, args, { cwd: app, stdio: 'ignore' });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      res({ code, ms: Date.now() - started });
    });
  });
}

/** Every file and folder under `dir` (symbolic links listed, not followed), relative. */
function listTree(dir: string, prefix = ''): string[] {
  const out: string[] = [];
  for (const e of readdirSync(join(dir, prefix), { withFileTypes: true })) {
    const rel = `${prefix}${e.name}`;
    out.push(e.isDirectory() ? `${rel}/` : rel);
    if (e.isDirectory()) out.push(...listTree(dir, `${rel}/`));
  }
  return out;
}

const APP_V4 = ['192.0.2.10', '192.0.2.11', '198.51.100.10', '198.51.100.11', '198.51.100.12', '203.0.113.10'];

test("the image's CMD serves the sample zones from the runtime layout; its HEALTHCHECK passes while it runs and fails after SIGTERM stops it", async (t) => {
  t.timeout(90_000);
  const app = tempDir('steerdns-image-');
  t.teardown(() => rmSync(app, { recursive: true, force: true }));
  const done = layOut(app);
  t.log(done.join('\n'));
  for (const f of [
    'dist/cli.js',
    'package.json',
    'steerdns.yaml',
    'zones/example.test.yaml',
    'node_modules/pino',
    'geodb',
    '.steerdns-state',
  ]) {
    t.true(existsSync(join(app, f)), `the runtime layout has ${f}`);
  }
  t.false(existsSync(join(app, 'node_modules', 'ava')), 'no dev dependency in the runtime layout');

  // the image's config as shipped validates in the image's layout (wildcard listen: warnings only)
  const checked = await runCli(['check', '-c', join(app, 'steerdns.yaml')], app);
  t.is(checked.code, 0, `steerdns check of the image's config:\n${checked.stdout}\n${checked.stderr}`);
  t.regex(checked.stdout, /wildcard/, 'check warns about the wildcard listen addresses');
  t.notRegex(checked.stdout, /reachable beyond this host/, 'no warning about an open HTTP API: it stays on loopback');
  t.regex(checked.stdout, /^ok: 2 zones/m);

  // the wildcard addresses must not be bound in a test: loopback, an ephemeral DNS port, a free HTTP port
  const httpPort = await freePort();
  const original = readFileSync(join(app, 'steerdns.yaml'), 'utf8');
  let config = original.replace(/^listen: .*$/m, 'listen: ["127.0.0.1:0"]');
  config = config.replace(/^http: .*$/m, `http: "127.0.0.1:${httpPort}"`);
  t.is(config.split('\n').length, original.split('\n').length);
  t.not(config, original);
  t.regex(config, /^listen: \["127\.0\.0\.1:0"\]$/m);
  writeFileSync(join(app, 'steerdns.yaml'), config);

  const cmd = execForm(ops(RUNTIME, 'CMD')[0]!.args, 'CMD');
  const hc = healthcheck(ops(RUNTIME, 'HEALTHCHECK')[0]!.args);
  const hcPort = /127\.0\.0\.1:(\d+)\//.exec(hc.cmd.join(' '))![1]!;
  const hcCmd = hc.cmd.map((a) => a.replaceAll(`127.0.0.1:${hcPort}/`, `127.0.0.1:${httpPort}/`));
  const hcTimeoutMs = seconds(hc.options.timeout!) * 1000;

  // before the server runs, the health check fails
  t.not((await runHealthcheck(hcCmd, app, hcTimeoutMs + 5000)).code, 0, 'HEALTHCHECK fails while nothing serves');

  // the CMD, run as written in WORKDIR with the image's environment, in a process group of our own
  const env = Object.fromEntries(ops(RUNTIME, 'ENV').map((e) => /^(\w+)[= ](.*)$/.exec(e.args)!.slice(1, 3) as [string, string]));
  const [bin, args] = localCommand(cmd, app);
  t.deepEqual(args.slice(-2), ['-c', join(app, 'steerdns.yaml')], 'the config path /app/steerdns.yaml maps into the layout');
  const before = listTree(app);
  const p = spawnLogged('/usr/bin/env', [...Object.entries(env).map(([k, v]) => `${k}=${v}`), bin, ...args], { cwd: app, detached: true });
  const pgid = p.child.pid!;
  t.teardown(() => {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // already gone
    }
  });
  const serving = await p.waitForLog((l) => l.msg === 'serving', 30_000);
  t.deepEqual([...(serving.zones as string[])].sort(), ['2.0.192.in-addr.arpa', 'example.test']);
  const port = Number(/^127\.0\.0\.1:(\d+)$/.exec((serving.listen as string[])[0]!)![1]);

  // it serves the sample zones
  const out = await dig(port, ['www.example.test']);
  t.regex(out, /status: NOERROR/, out);
  t.regex(out, /;; flags: qr aa rd;/, out);
  t.regex(out, /^www\.example\.test\.\s+\d+\s+IN\s+CNAME\s+app\.example\.test\.$/m, out);
  const a = [...out.matchAll(/^app\.example\.test\.\s+\d+\s+IN\s+A\s+(\S+)$/gm)].map((m) => m[1]!);
  t.true(a.length >= 1 && a.every((x) => APP_V4.includes(x)), `pool answers: ${a.join(' ')}`);
  const tcpOut = await dig(port, ['+tcp', '+short', 'ns1.example.test', 'A']);
  t.is(tcpOut.trim(), '192.0.2.53', 'TCP too');
  const ptr = await dig(port, ['+short', '-x', '192.0.2.53']);
  t.regex(ptr, /example\.test\.$/m, `the reverse zone too: ${ptr}`);

  // the HEALTHCHECK, as given, passes within its --timeout
  const ok = await runHealthcheck(hcCmd, app, hcTimeoutMs + 5000);
  t.is(ok.code, 0, 'HEALTHCHECK passes while the server runs');
  t.true(ok.ms < hcTimeoutMs, `HEALTHCHECK took ${ok.ms}ms, its timeout is ${hcTimeoutMs}ms`);

  // `docker stop` sends SIGTERM to the CMD's process (PID 1 in the container): graceful, exit 0
  process.kill(p.child.pid!, 'SIGTERM');
  const exit = await Promise.race([p.exited, new Promise<null>((r) => setTimeout(() => r(null), 15_000))]);
  t.deepEqual(exit, { code: 0, signal: null }, `exit after SIGTERM\n${p.stderr()}`);
  t.true(p.logs.some((l) => l.msg === 'stopped'));
  // as the non-root user the server may write only where the image lets it (.steerdns-state, chowned to it)
  const written = listTree(app).filter((f) => !before.includes(f));
  t.true(written.length > 0 && written.every((f) => f.startsWith('.steerdns-state/')), `files the server wrote: ${written.join(', ')}`);

  // and now the health check fails
  t.not((await runHealthcheck(hcCmd, app, hcTimeoutMs + 5000)).code, 0, 'HEALTHCHECK fails once the server stopped');
});
