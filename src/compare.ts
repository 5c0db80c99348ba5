// `steerdns compare ZONE` (docs/operations.md#comparing-the-nameservers-with-compare): asks every nameserver
// of a zone — its NS set as the zone files give it, or `--servers` — the same questions (A and AAAA of every
// pool name of the zone, from each sample client subnet in an ECS option, RFC 7871) and prints where their
// answers differ. Exit status 0 when all agree, 1 when some differ, 2 when it cannot ask.
import { lookup } from 'node:dns/promises';
import { ask, parseServer, type Reply, type Server } from './compare-wire.js';
import { SerialStore } from './config/serial.js';
import { loadServerConfig } from './config/server-config.js';
import { formatDiagnostic } from './config/source.js';
import { rdataToText } from './dns/rdata-text.js';
import { TYPE } from './dns/registry.js';
import { bytesToIp, ipFamily, ipToBytes } from './net/address.js';
import { type Cidr, maskBytes, parseCidr } from './net/cidr.js';
import { countryClients, fileClients, overlayClients, type SampleClient } from './plan-clients.js';
import { loadSnapshot, type Snapshot } from './snapshot.js';

export interface CompareOptions {
  config: string;
  servers?: string;
  clients?: string;
  json?: boolean;
}

/** One question on which the servers do not all give the same answer. */
export interface Difference {
  name: string;
  type: 'A' | 'AAAA';
  /** The client subnet sent (ECS), as the sample names it; `-` for the question without ECS. */
  client: string;
  label: string;
  /** Server label → its answer: `NOERROR 192.0.2.1`, `NXDOMAIN`, `no answer (timeout)`. */
  answers: Record<string, Reply>;
}

export interface CompareReport {
  zone: string;
  servers: string[];
  /** Questions asked of each server. */
  questions: number;
  agree: boolean;
  differences: Difference[];
}

class CompareError extends Error {}

/** The pool names of `zone` (owner names without the trailing dot), sorted. */
function poolNames(s: Snapshot, zone: string): string[] {
  const z = s.zones.get(zone);
  if (!z) throw new CompareError(`zone ${zone} is not in the config (zones: ${[...s.zones.keys()].join(', ') || 'none'})`);
  const out: string[] = [];
  for (let node = 0; node < z.nodeCount; node++) if (z.dynamicAt(node)) out.push(z.nameOf(node));
  return out.sort();
}

/** The zone's NS set, each name's addresses from the zone files' own records (glue) or else the system resolver. */
async function nsSet(s: Snapshot, zone: string): Promise<Server[]> {
  const zones = [...s.zones.values()];
  const recordsOf = (name: string, type: number): string[] => {
    const out: string[] = [];
    for (const z of zones) {
      for (let node = 0; node < z.nodeCount; node++) {
        if (z.nameOf(node) !== name) continue;
        for (const set of z.rrsetsAt(node)) if (set.type === type) out.push(...set.rdata.map((rd) => rdataToText(type, rd)));
      }
    }
    return out;
  };
  const names = [...new Set(recordsOf(zone, TYPE.NS).map((n) => n.replace(/\.$/, '')))].sort();
  if (names.length === 0) throw new CompareError(`zone ${zone} has no NS records: give --servers`);
  const out: Server[] = [];
  for (const name of names) {
    let addresses = [...recordsOf(name, TYPE.A), ...recordsOf(name, TYPE.AAAA)];
    if (addresses.length === 0) {
      try {
        addresses = (await lookup(name, { all: true })).map((a) => a.address);
      } catch (e) {
        throw new CompareError(`NS ${name}: no address in the zone files and none found: ${(e as Error).message}`);
      }
    }
    for (const host of addresses) out.push({ label: `${name} (${host})`, host, port: 53 });
  }
  return out;
}

/** The subnet a sample client stands for: as written in --clients, else its address as a /24 (IPv4) or /56. */
function subnetOf(c: SampleClient): Cidr {
  const prefix = ipFamily(c.from) === 4 ? 24 : 56;
  const text = c.client.includes('/') ? c.client : `${bytesToIp(maskBytes(ipToBytes(c.from), prefix))}/${prefix}`;
  const r = parseCidr(text);
  if (typeof r === 'string') throw new CompareError(`client ${c.client}: ${r}`);
  return r;
}

/** Runs `work` over `items`, at most `limit` at a time. */
async function pooled<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const runner = async () => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, runner));
}

export async function compare(zoneArg: string, opts: CompareOptions): Promise<CompareReport> {
  const { config, diagnostics } = loadServerConfig(opts.config, { command: 'explain' });
  if (!config) throw new CompareError(diagnostics.map(formatDiagnostic).join('\n'));
  const report = loadSnapshot(config, new SerialStore(config.stateDir, false), null, { compile: false });
  // a zone file that fails is said (the zone is then not in the config to compare)
  for (const m of report.messages.filter((x) => x.level === 'error')) process.stderr.write(`${m.text}\n`);
  const { snapshot } = report;
  const zone = zoneArg.toLowerCase().replace(/\.$/, '');
  const names = poolNames(snapshot, zone);
  if (names.length === 0) throw new CompareError(`zone ${zone} has no pool names: compare asks about pools`);
  let servers: Server[];
  if (opts.servers) {
    servers = [];
    for (const s of opts.servers.split(',').filter(Boolean)) {
      const r = parseServer(s.trim());
      if (typeof r === 'string') throw new CompareError(r);
      servers.push(r);
    }
  } else servers = await nsSet(snapshot, zone);
  if (servers.length < 2)
    throw new CompareError(`${servers.length} server${servers.length === 1 ? '' : 's'} to ask: compare needs two or more`);

  let clients: SampleClient[];
  if (opts.clients) {
    const r = fileClients(opts.clients);
    if (typeof r === 'string') throw new CompareError(r);
    clients = r;
  } else {
    clients = [...(snapshot.db ? countryClients(snapshot.db) : []), ...overlayClients(config.geoip.networks)];
  }
  const questions: { name: string; type: 'A' | 'AAAA'; client: SampleClient | null; subnet: Cidr | null }[] = [];
  for (const name of names) {
    for (const type of ['A', 'AAAA'] as const) {
      questions.push({ name, type, client: null, subnet: null });
      for (const c of clients) questions.push({ name, type, client: c, subnet: subnetOf(c) });
    }
  }
  const replies = questions.map(() => new Array<Reply>(servers.length));
  const jobs = questions.flatMap((_, q) => servers.map((_, s) => ({ q, s })));
  await pooled(jobs, 32, async ({ q, s }) => {
    const x = questions[q]!;
    replies[q]![s] = await ask(servers[s]!, x.name, x.type, x.subnet);
  });
  const differences: Difference[] = [];
  questions.forEach((x, q) => {
    const r = replies[q]!;
    // a server that does not answer differs even from another that does not: nothing was compared
    if (r.every((a) => a === r[0]) && !r[0]!.startsWith('no answer')) return;
    const answers: Record<string, Reply> = {};
    servers.forEach((s, i) => {
      answers[s.label] = r[i]!;
    });
    differences.push({ name: x.name, type: x.type, client: x.client?.client ?? '-', label: x.client?.label ?? 'no ECS', answers });
  });
  return { zone, servers: servers.map((s) => s.label), questions: questions.length, agree: differences.length === 0, differences };
}

/** The report as a table: one row per question on which they differ, one column per server. */
export function formatCompare(r: CompareReport): string {
  const head = `${r.zone}: ${r.servers.length} servers, ${r.questions} questions each`;
  if (r.agree) return `${head}: all agree\n`;
  const header = ['name', 'type', 'client', ...r.servers];
  const rows = r.differences.map((d) => [d.name, d.type, d.client === '-' ? '(no ECS)' : d.client, ...r.servers.map((s) => d.answers[s]!)]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) =>
    `${cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd()}\n`;
  const n = r.differences.length;
  return `${head}: ${n} question${n === 1 ? '' : 's'} answered differently\n\n${line(header)}${rows.map(line).join('')}`;
}

/** `steerdns compare ZONE [--servers IP[:port],...] [--clients FILE] [--json] [-c steerdns.yaml]`. */
export async function compareCommand(positionals: string[], opts: CompareOptions): Promise<number> {
  const [zone, extra] = positionals;
  if (!zone || extra !== undefined) {
    process.stderr.write('steerdns compare: one ZONE is required\n');
    return 2;
  }
  try {
    const r = await compare(zone, opts);
    process.stdout.write(opts.json ? `${JSON.stringify(r, null, 2)}\n` : formatCompare(r));
    return r.agree ? 0 : 1;
  } catch (e) {
    if (!(e instanceof CompareError)) throw e;
    if (opts.json) process.stdout.write(`${JSON.stringify({ zone, error: e.message }, null, 2)}\n`);
    process.stderr.write(`steerdns compare: ${e.message}\n`);
    return 2;
  }
}
