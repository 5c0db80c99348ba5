// `steerdns plan` (docs/operations.md#steerdns-plan, README "Reviewing a change with plan"): two revisions of
// a git checkout — by default HEAD and the work tree — each checked as `steerdns check` does and loaded as the
// server loads them, then compared answer by answer (plan-diff.ts). A revision is read with `git archive`
// into a temporary folder: the work tree and the index are never touched.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readdirSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { checkConfig } from './check.js';
import { SerialStore } from './config/serial.js';
import { loadServerConfig, type ServerConfig } from './config/server-config.js';
import { formatDiagnostic } from './config/source.js';
import { bundledDatabasePath, openDatabase } from './gslb/geo.js';
import { ALL_UP, HealthTable, type HealthView } from './health/table.js';
import { countryClients, fileClients, overlayClients, type SampleClient } from './plan-clients.js';
import { planDiff } from './plan-diff.js';
import { formatPlan, type PlanReport } from './plan-format.js';
import { loadSnapshot, type Snapshot } from './snapshot.js';

export interface PlanOptions {
  config: string;
  from?: string;
  to?: string;
  clients?: string;
  db?: string;
  health?: string;
  format?: string;
  maxChange?: string;
}

/** A revision as files on disk: the work tree itself, or a temporary copy of a commit's tree. */
interface Tree {
  /** As asked (`HEAD`, `origin/main`) or `work tree`. */
  rev: string;
  commit: string | null;
  dir: string;
  temporary: boolean;
}

class PlanError extends Error {}

/** The temporary folders of a plan running now: removed on SIGINT/SIGTERM too (planCommand). */
const temporary = new Set<string>();

const inside = (dir: string, path: string) => path === dir || path.startsWith(dir + sep);

/**
 * Refuses a revision whose config, zones folder or zone files are (or reach through a symbolic link) files
 * outside the revision's own tree, or inside its `.git`: a pull request must not make plan read — and quote in
 * its errors, in a PR comment — a file such as `.git/config`, where CI keeps its token.
 */
function confine(tree: Tree, paths: string[], walk: boolean): void {
  const top = realpathSync(tree.dir);
  const git = join(top, '.git');
  const check = (path: string) => {
    if (!existsSync(path)) return;
    const real = realpathSync(path);
    const shown = relative(tree.dir, path) || path;
    if (!inside(top, real) || inside(git, real))
      throw new PlanError(`${tree.rev}: ${shown} leads outside the repository (${real}): refused`);
  };
  for (const p of paths) {
    check(p);
    if (!walk || !existsSync(p) || !lstatSync(realpathSync(p)).isDirectory()) continue;
    // the zones folder: every entry, and what a link in it leads to (includes are confined to it on reading)
    for (const e of readdirSync(p, { recursive: true }) as string[]) check(join(p, e));
  }
}

function git(root: string, args: string[]): string {
  const r = spawnSync('git', args, { cwd: root, encoding: 'utf8', maxBuffer: 1 << 30 });
  if (r.error) throw new PlanError(`git ${args[0]}: ${r.error.message}`);
  if (r.status !== 0) throw new PlanError(`git ${args.join(' ')}: ${r.stderr.trim() || `exit status ${r.status}`}`);
  return r.stdout;
}

/** The commit `rev` names, its tree written into a temporary folder (`git archive | tar -x`). */
function checkoutTree(root: string, rev: string): Tree {
  const r = spawnSync('git', ['rev-parse', '--verify', '--quiet', `${rev}^{commit}`], { cwd: root, encoding: 'utf8' });
  const commit = r.status === 0 ? r.stdout.trim() : '';
  if (!commit) throw new PlanError(`"${rev}" names no commit in ${root}`);
  const dir = mkdtempSync(join(tmpdir(), 'steerdns-plan-'));
  temporary.add(dir);
  try {
    const tar = execFileSync('git', ['archive', '--format=tar', commit], { cwd: root, maxBuffer: 1 << 30 });
    const x = spawnSync('tar', ['-x', '-C', dir], { input: tar });
    if (x.status !== 0) throw new PlanError(`tar -x of ${rev}: ${x.stderr.toString().trim()}`);
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    temporary.delete(dir);
    throw e instanceof PlanError ? e : new PlanError(`git archive ${rev}: ${(e as Error).message}`);
  }
  return { rev, commit, dir, temporary: true };
}

interface LoadedRevision {
  tree: Tree;
  errors: string[];
  config: ServerConfig | null;
  snapshot: Snapshot | null;
  /** The revision has no config at all (before steerdns was set up in the repository): nothing served. */
  absent?: boolean;
}

/**
 * Checks and loads the revision in `tree`: the config at `configRel` inside it, its zones folder and includes
 * resolved there. `db` (--db) replaces the GeoIP database of both revisions; a database the revision names
 * but does not hold (a large file kept out of git) is taken from the work tree at the same place.
 */
function loadRevision(tree: Tree, root: string, configRel: string, db: string | null): LoadedRevision {
  const shown = (text: string) => text.replaceAll(`${tree.dir}/`, '').replaceAll(`${root}/`, '');
  const configPath = join(tree.dir, configRel);
  confine(tree, [dirname(configPath), configPath], false);
  if (!existsSync(configPath)) return { tree, errors: [], config: null, snapshot: null, absent: true };
  const { config: loaded, diagnostics } = loadServerConfig(configPath, { command: 'check' });
  const errors = diagnostics.filter((d) => d.severity === 'error').map((d) => shown(formatDiagnostic(d)));
  if (!loaded) return { tree, errors, config: null, snapshot: null };
  let database = db ?? loaded.geoip.database;
  if (!db && database && !existsSync(database) && tree.temporary) {
    const inWorkTree = join(root, relative(tree.dir, database));
    if (existsSync(inWorkTree)) database = inWorkTree;
  }
  const config: ServerConfig = { ...loaded, geoip: { ...loaded.geoip, database } };
  if (!inside(resolve(tree.dir), resolve(config.zonesDir)))
    return {
      tree,
      errors: [`${configRel}: zones folder ${config.zonesDir} is outside the repository: both revisions would read it`],
      config,
      snapshot: null,
    };
  confine(tree, [config.zonesDir], true);
  // DNSSEC key files are (rightly) kept out of git, and plan compares answers, not signatures
  const checked = checkConfig(config, { keys: false });
  errors.push(...checked.lines.filter((l) => l.level === 'error').map((l) => shown(l.text)));
  if (checked.fatal) errors.push(shown(checked.fatal));
  if (errors.length) return { tree, errors, config, snapshot: null };
  // read-only serials (as check computes them); the tables of the pools asked, compiled on first use
  // no signing state either: the snapshot would read the key files check left alone
  const report = loadSnapshot({ ...config, dnssec: new Map() }, new SerialStore(config.stateDir, false), null, { compile: false });
  return { tree, errors, config, snapshot: report.snapshot };
}

/** `--health URL`: the targets a running server's /status reports down, marked down in each revision's pools. */
async function liveHealth(url: string, token: string | null): Promise<(s: Snapshot) => HealthView> {
  const u = new URL(url);
  if (u.pathname === '/' || u.pathname === '') u.pathname = '/status';
  let body: { pools?: { zone: string; name: string; regions: { name: string; targets: { address: string; health: string }[] }[] }[] };
  try {
    const res = await fetch(u, { headers: token ? { authorization: `Bearer ${token}` } : {}, signal: AbortSignal.timeout(5000) });
    if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
    body = (await res.json()) as typeof body;
  } catch (e) {
    throw new PlanError(`--health ${u}: ${(e as Error).message}`);
  }
  const down = new Set<string>();
  for (const p of body.pools ?? [])
    for (const r of p.regions) for (const t of r.targets) if (t.health === 'down') down.add(`${p.zone}|${p.name}|${r.name}|${t.address}`);
  return (s) => {
    const h = new HealthTable();
    for (const z of s.zones.values())
      for (const p of z.pools)
        for (const r of p.regions)
          for (const t of r.targets) if (down.has(`${z.origin}|${p.name}|${r.name}|${t.address}`)) h.set(t.healthKey, { up: false });
    return h;
  };
}

function sampleClients(opts: PlanOptions, revisions: LoadedRevision[], db: string | null): SampleClient[] {
  if (opts.clients) {
    const c = fileClients(opts.clients);
    if (typeof c === 'string') throw new PlanError(c);
    return c;
  }
  const countries = countryClients(openDatabase(db ?? bundledDatabasePath()));
  return [...countries, ...overlayClients(...revisions.map((r) => r.config?.geoip.networks ?? []))];
}

/** Runs the plan; returns the report and the exit status (0 no change, 1 changes, 2 over --max-change or errors). */
export async function plan(opts: PlanOptions): Promise<{ report: PlanReport; code: number }> {
  const format = opts.format ?? 'text';
  if (!['text', 'markdown', 'json'].includes(format)) throw new PlanError(`--format must be text, markdown or json, got "${format}"`);
  const maxChange = opts.maxChange === undefined ? 30 : Number(opts.maxChange.replace(/%$/, ''));
  if (!(maxChange >= 0 && maxChange <= 100)) throw new PlanError(`--max-change must be a percentage 0 to 100, got "${opts.maxChange}"`);
  const cwd = process.cwd();
  const root = git(cwd, ['rev-parse', '--show-toplevel']).trim();
  const configRel = relative(root, resolve(opts.config));
  if (configRel.startsWith('..') || isAbsolute(configRel))
    throw new PlanError(`the config ${opts.config} is outside the repository ${root}`);
  const db = opts.db ? resolve(opts.db) : null;
  const trees: Tree[] = [];
  try {
    trees.push(checkoutTree(root, opts.from ?? 'HEAD'));
    trees.push(opts.to === undefined ? { rev: 'work tree', commit: null, dir: root, temporary: false } : checkoutTree(root, opts.to));
    const [before, after] = trees.map((t) => loadRevision(t, root, configRel, db)) as [LoadedRevision, LoadedRevision];
    if (before.absent && after.absent) throw new PlanError(`neither ${before.tree.rev} nor ${after.tree.rev} has ${configRel}`);
    // a revision without the config (the change that sets steerdns up, or removes it) serves nothing: the other
    // revision's config over an empty zones folder
    for (const [r, other] of [
      [before, after],
      [after, before],
    ] as const) {
      if (!r.absent || !other.config || other.errors.length) continue;
      const empty = mkdtempSync(join(tmpdir(), 'steerdns-plan-'));
      temporary.add(empty);
      trees.push({ rev: r.tree.rev, commit: null, dir: empty, temporary: true });
      r.config = { ...other.config, zonesDir: empty };
      r.snapshot = loadSnapshot(r.config, new SerialStore(other.config.stateDir, false), null, { compile: false }).snapshot;
    }
    const errors = [...before.errors, ...after.errors];
    const head = {
      from: { rev: before.tree.rev, commit: before.tree.commit },
      to: { rev: after.tree.rev, commit: after.tree.commit },
      max_change: maxChange / 100,
    };
    if (!before.snapshot || !after.snapshot) {
      const report: PlanReport = {
        ...head,
        changed_share: 0,
        clients: 0,
        clients_changed: 0,
        records_changed_share: 0,
        over_max_change: false,
        zones: { added: [], removed: [] },
        names: [],
        errors,
        revision_errors: [before, after].filter((r) => r.errors.length).map((r) => ({ rev: r.tree.rev, errors: r.errors })),
      };
      return { report, code: 2 };
    }
    const clients = sampleClients(opts, [before, after], db);
    // the token of the revision compared against (the base branch), never one a pull request names
    const healthOf = opts.health ? await liveHealth(opts.health, before.config?.http?.token ?? null) : () => ALL_UP;
    const diff = planDiff(
      { snapshot: before.snapshot, health: healthOf(before.snapshot) },
      { snapshot: after.snapshot, health: healthOf(after.snapshot) },
      clients,
    );
    const share = clients.length ? diff.clientsChanged / clients.length : 0;
    // octoDNS's rule: the share of existing records updated or deleted counts from 10 records on
    const recordShare = diff.rrsetsBefore >= 10 ? diff.rrsetsTouched / diff.rrsetsBefore : 0;
    const report: PlanReport = {
      ...head,
      changed_share: Math.round(share * 10_000) / 10_000,
      clients: clients.length,
      clients_changed: diff.clientsChanged,
      records_changed_share: Math.round(recordShare * 10_000) / 10_000,
      // one decision for the exit status and the summary (the shares above are rounded for reading)
      over_max_change: share * 100 > maxChange || recordShare * 100 > maxChange,
      zones: diff.zones,
      names: diff.names,
      errors: [],
      revision_errors: [],
    };
    const changed = diff.names.length > 0 || diff.zones.added.length > 0 || diff.zones.removed.length > 0;
    return { report, code: report.over_max_change ? 2 : changed ? 1 : 0 };
  } finally {
    for (const t of trees) {
      if (!t.temporary) continue;
      rmSync(t.dir, { recursive: true, force: true });
      temporary.delete(t.dir);
    }
  }
}

/** The `steerdns plan` command: prints the report in the format asked; the exit status of `plan`. */
export async function planCommand(opts: PlanOptions): Promise<number> {
  // an interrupted plan leaves no temporary copy behind
  const stop = (signal: NodeJS.Signals, code: number) => () => {
    for (const dir of temporary) rmSync(dir, { recursive: true, force: true });
    process.stderr.write(`steerdns plan: ${signal}\n`);
    process.exit(code);
  };
  const onInt = stop('SIGINT', 130);
  const onTerm = stop('SIGTERM', 143);
  process.once('SIGINT', onInt);
  process.once('SIGTERM', onTerm);
  try {
    const { report, code } = await plan(opts);
    process.stdout.write(formatPlan(report, opts.format ?? 'text'));
    return code;
  } catch (e) {
    if (!(e instanceof PlanError)) throw e;
    process.stderr.write(`steerdns plan: ${e.message}\n`);
    // a JSON reader still gets JSON: the error in `errors`
    if (opts.format === 'json') process.stdout.write(`${JSON.stringify({ errors: [e.message] }, null, 2)}\n`);
    return 2;
  } finally {
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
  }
}
