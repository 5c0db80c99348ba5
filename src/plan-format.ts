// The three forms of `steerdns plan`'s report: text for a terminal, Markdown for a pull-request comment, JSON
// (the shape of docs/operations.md#steerdns-plan: `changed_share`, `names[].changes[]`, `errors`).
import type { ClientChange, NameChange, RecordChange } from './plan-diff.js';

export interface PlanReport {
  from: { rev: string; commit: string | null };
  to: { rev: string; commit: string | null };
  /** Share of the sample clients whose answer for some pool name changed (0..1). */
  changed_share: number;
  clients: number;
  clients_changed: number;
  /** Share of the old revision's static RRsets changed or removed (counted from 10 RRsets on, else 0). */
  records_changed_share: number;
  /** --max-change as a share. */
  max_change: number;
  /** Whether a share passed --max-change (exit status 2). */
  over_max_change: boolean;
  zones: { added: string[]; removed: string[] };
  names: NameChange[];
  /** check's errors of both revisions, file:line:col: message (paths inside the repository). */
  errors: string[];
  revision_errors: { rev: string; errors: string[] }[];
}

const revText = (r: PlanReport['from']) => (r.commit ? `${r.rev} (${r.commit.slice(0, 12)})` : r.rev);
const pct = (x: number) => `${(Math.round(x * 1000) / 10).toString()}%`;
const fq = (name: string) => (name === '' ? '.' : `${name}.`);
const isClient = (c: ClientChange | RecordChange): c is ClientChange => c.client !== '*';

/** An answer as one short phrase: `eu-west 192.0.2.10, 192.0.2.11`, or the rcode when there is no address. */
function side(addresses: string[], region: string | null, rcode: string): string {
  const what = addresses.length ? addresses.join(', ') : rcode === 'NOERROR' ? 'no address' : rcode;
  return region ? `${region} ${what}` : what;
}

/** The client changes of a pool name grouped by move (same before and after), largest group first. */
function moves(n: NameChange): { from: string; to: string; clients: ClientChange[] }[] {
  const groups = new Map<string, { from: string; to: string; clients: ClientChange[] }>();
  for (const c of n.changes.filter(isClient)) {
    const from = side(c.from, c.from_region, c.from_rcode);
    const to = side(c.to, c.to_region, c.to_rcode);
    const k = `${from}\n${to}`;
    const g = groups.get(k) ?? { from, to, clients: [] };
    g.clients.push(c);
    groups.set(k, g);
  }
  return [...groups.values()].sort((a, b) => b.clients.length - a.clients.length);
}

const who = (c: ClientChange) => (c.label === c.client ? c.client : `${c.label} ${c.client}`);

function summaryLine(r: PlanReport): string {
  if (r.errors.length) return `a revision fails check (${r.errors.length} error${r.errors.length === 1 ? '' : 's'}): nothing compared`;
  const sets = r.names.filter((n) => n.kind === 'records').length;
  const parts = [
    `${r.clients_changed} of ${r.clients} sample clients (${pct(r.changed_share)}) change answers`,
    `${sets} static RRset${sets === 1 ? '' : 's'} changed`,
  ];
  if (r.zones.added.length) parts.push(`zones added: ${r.zones.added.map(fq).join(', ')}`);
  if (r.zones.removed.length) parts.push(`zones removed: ${r.zones.removed.map(fq).join(', ')}`);
  if (r.over_max_change) parts.push(`over --max-change ${pct(r.max_change)}`);
  return parts.join('; ');
}

function text(r: PlanReport): string {
  const out = [`plan: ${revText(r.from)} → ${revText(r.to)}`];
  for (const g of r.revision_errors) {
    out.push('', `${g.rev} fails check:`);
    for (const e of g.errors) out.push(`  ${e}`);
  }
  for (const n of r.names) {
    out.push(
      '',
      `${fq(n.name)} ${n.type}${n.kind === 'pool' ? ' (pool)' : ''}: ${n.change}${n.ttl ? `, ttl ${n.ttl.from} → ${n.ttl.to}` : ''}`,
    );
    if (n.kind === 'pool') {
      for (const m of moves(n)) {
        out.push(`  ${m.clients.length} client${m.clients.length === 1 ? '' : 's'}: ${m.from} → ${m.to}`);
        out.push(`    ${m.clients.map(who).join(', ')}`);
      }
    } else {
      for (const c of n.changes) {
        for (const x of c.from) out.push(`  - ${x}`);
        for (const x of c.to) out.push(`  + ${x}`);
      }
    }
  }
  out.push(
    '',
    `summary: ${r.errors.length || r.names.length || r.zones.added.length || r.zones.removed.length ? summaryLine(r) : 'no answer changes'}`,
  );
  return `${out.map(visible).join('\n')}\n`;
}

/**
 * The report's text comes from the revisions compared, a pull request's among them: control characters are
 * shown escaped (no line a zone writes can end a code block or a table row, or drive a terminal), Markdown
 * specials in table cells are escaped, and code spans and blocks are fenced longer than any backtick run inside.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this escapes
const CONTROL = /[\u0000-\u001f\u007f]/g;
const visible = (s: string) => s.replace(CONTROL, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
const cell = (s: string) => visible(s).replace(/[\\`*_{}[\]()<>#+!|~]/g, '\\$&');
function fence(lines: string[]): string {
  let longest = 0;
  for (const l of lines) for (const run of l.match(/`+/g) ?? []) longest = Math.max(longest, run.length);
  return '`'.repeat(Math.max(3, longest + 1));
}
function code(s: string): string {
  const t = visible(s);
  let longest = 0;
  for (const run of t.match(/`+/g) ?? []) longest = Math.max(longest, run.length);
  const f = '`'.repeat(longest + 1);
  return longest ? `${f} ${t} ${f}` : `${f}${t}${f}`;
}
const block = (info: string, lines: string[]) => {
  const shown = lines.map(visible);
  const f = fence(shown);
  return [`${f}${info}`, ...shown, f];
};
/** Lists longer than this go in a collapsed <details> block. */
const SHOWN = 8;

/** GitHub refuses a comment over 65,536 characters: past this, the collapsed client lists are left out. */
const COMMENT_BUDGET = 60_000;

function markdown(r: PlanReport): string {
  const full = markdownOf(r, true);
  if (full.length <= COMMENT_BUDGET) return full;
  const note =
    '\n_Left out to stay under the 65,536 characters GitHub takes in a comment: run `steerdns plan --format text` for the whole report._\n';
  const lean = markdownOf(r, false, COMMENT_BUDGET - note.length);
  return lean + note;
}

/** The Markdown report; without `details` no collapsed lists, and with a `budget` the sections that fit. */
function markdownOf(r: PlanReport, details: boolean, budget = Number.POSITIVE_INFINITY): string {
  const changed = r.errors.length || r.names.length || r.zones.added.length || r.zones.removed.length;
  const head = `**steerdns plan** ${code(revText(r.from))} → ${code(revText(r.to))}: ${changed ? cell(summaryLine(r)) : 'no answer changes'}`;
  const sections: string[][] = [];
  for (const g of r.revision_errors) sections.push(['', `#### ${code(g.rev)} fails \`steerdns check\``, '', ...block('', g.errors)]);
  for (const n of r.names) {
    const out = [
      '',
      `#### ${code(fq(n.name))} ${cell(n.type)}${n.kind === 'pool' ? ' (pool)' : ''}: ${n.change}${n.ttl ? `, TTL ${n.ttl.from} → ${n.ttl.to}` : ''}`,
    ];
    sections.push(out);
    if (n.kind === 'pool') {
      const ms = moves(n);
      if (!ms.length) continue;
      out.push('', '| clients | from | to | sample |', '|---:|---|---|---|');
      for (const m of ms) {
        const shown = m.clients.slice(0, SHOWN).map(who).join(', ') + (m.clients.length > SHOWN ? ', …' : '');
        out.push(`| ${m.clients.length} | ${cell(m.from)} | ${cell(m.to)} | ${cell(shown)} |`);
      }
      const all = n.changes.filter(isClient);
      if (details && all.length > SHOWN) {
        out.push('', `<details><summary>all ${all.length} clients</summary>`, '', '| client | from | to |', '|---|---|---|');
        for (const c of all)
          out.push(
            `| ${cell(who(c))} | ${cell(side(c.from, c.from_region, c.from_rcode))} | ${cell(side(c.to, c.to_region, c.to_rcode))} |`,
          );
        out.push('', '</details>');
      }
    } else {
      const lines = n.changes.flatMap((c) => [...c.from.map((x) => `- ${x}`), ...c.to.map((x) => `+ ${x}`)]);
      if (!lines.length) continue;
      if (lines.length > SHOWN) {
        if (details) out.push('', `<details><summary>${lines.length} records</summary>`, '', ...block('diff', lines), '', '</details>');
        else out.push('', `${lines.length} records changed`);
      } else out.push('', ...block('diff', lines));
    }
  }
  let text = head;
  let shown = 0;
  for (const sec of sections) {
    const piece = `\n${sec.join('\n')}`;
    if (text.length + piece.length + 200 > budget) break;
    text += piece;
    shown++;
  }
  if (shown < sections.length) text += `\n\n_${sections.length - shown} more section${sections.length - shown === 1 ? '' : 's'} left out._`;
  return `${text}\n`;
}

export function formatPlan(r: PlanReport, format: string): string {
  if (format === 'json') return `${JSON.stringify(r, null, 2)}\n`;
  return format === 'markdown' ? markdown(r) : text(r);
}
