// GET / : a small status page (plain HTML, CSS and a few lines of script, no build step). It shows every
// zone, pool, region and target with its health. The server renders it; a few lines of script fetch the
// same fragment (`/?fragment=1`) every 2 seconds, so the page is live and works without script too.
import type { Status, StatusOverride, StatusTarget } from './status.js';

const esc = (s: unknown) => String(s ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Time left, short: 45s, 29m 10s, 2h 5m, 3d 4h. */
function left(s: number): string {
  if (s >= 86_400) return `${Math.floor(s / 86_400)}d ${Math.floor((s % 86_400) / 3600)}h`;
  if (s >= 3600) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  if (s >= 60) return `${Math.floor(s / 60)}m ${s % 60}s`;
  return `${s}s`;
}

/** With a fleet: each instance's observation, and the verdict served (` · fleet: ns1 down, ns2 up → up`). */
function fleetCell(t: StatusTarget): string {
  if (!t.observations) return '';
  const seen = Object.entries(t.observations)
    .map(([i, v]) => `<span class="obs ${v}">${esc(i)} ${v}</span>`)
    .join(', ');
  return ` <small class="fleet">· fleet: ${seen} → <b class="verdict ${t.verdict}">${esc(t.verdict)}</b></small>`;
}

/** Runtime overrides, one per line: `drain · 29m 10s left` with the reason and author on hover. */
function overrides(list: StatusOverride[]): string {
  return list
    .map(
      (o) =>
        `<span class="override ${esc(o.action)}" title="${esc(`${o.id}: ${o.reason} (${o.author}, until ${o.until})`)}">` +
        `${esc(o.action)}${o.weight !== null ? ` ${esc(o.weight)}` : ''} · ${left(o.remainingSeconds)} left</span>`,
    )
    .join('<br>');
}

export function statusFragment(st: Status): string {
  const zones = st.zones
    .map(
      (z) =>
        `<tr class="${z.state}"><td>${esc(z.origin || '—')}</td><td>${esc(z.serial ?? '—')}</td>` +
        `<td>${esc(z.state)}</td><td>${esc(z.loadedAt ?? '—')}</td><td class="file">${esc(z.file)}</td>` +
        `<td>${z.errors.map((e) => `<div class="err">${esc(e)}</div>`).join('')}</td></tr>`,
    )
    .join('');
  const pools = st.pools
    .map((p) => {
      const regions = p.regions
        .map((r) => {
          const targets = r.targets
            .map((t) => {
              const cls = t.admin === 'down' ? 'admin' : t.health === 'down' ? 'down' : t.changing ? 'changing' : 'up';
              const ovr = t.overrides.length ? ` overridden ${t.overrides.map((o) => o.action).join(' ')}` : '';
              const label =
                t.admin === 'down'
                  ? 'admin down'
                  : t.health === 'not probed'
                    ? 'up (not probed)'
                    : `${t.health}${t.changing ? ' (changing)' : ''}`;
              return (
                `<tr class="${cls}${ovr}"><td>${esc(t.address)}</td><td>${t.weight === 0 ? 'standby' : esc(t.weight)}</td>` +
                `<td><span class="dot"></span>${esc(label)}${fleetCell(t)}</td><td>${esc(t.lastResult ?? '—')}</td>` +
                `<td>${esc(t.lastCheck ?? '—')}</td><td>${t.rttMs === null ? '—' : `${esc(t.rttMs)} ms`}</td>` +
                `<td>${overrides(t.overrides) || '—'}</td></tr>`
              );
            })
            .join('');
          return (
            `<h4${r.overrides.length ? ` class="overridden ${r.overrides.map((o) => o.action).join(' ')}"` : ''}>${esc(r.name)} <small>${esc(r.location.join(', '))}${r.state === 'up' ? '' : ` · ${esc(r.state)}`} · ${r.healthy}/${r.total} healthy</small>` +
            `${r.overrides.length ? ` <small class="ovr">override: ${overrides(r.overrides)}</small>` : ''}</h4>` +
            `<table><thead><tr><th>target</th><th>weight</th><th>health</th><th>last result</th><th>last check</th><th>rtt</th><th>override</th></tr></thead><tbody>${targets}</tbody></table>`
          );
        })
        .join('');
      return `<section><h3>${esc(p.name)}. <small>${esc(p.zone)} · ${esc(p.policy)} · ${esc(p.select)} · ttl ${esc(p.ttl)} · check ${esc(p.check)}</small></h3>${regions}</section>`;
    })
    .join('');
  const g = st.geoip;
  return (
    `<p class="meta">generation ${st.generation} · up ${st.uptimeSeconds}s · prober: ${st.prober.targets} targets${st.prober.panic ? ' · <b class="err">PANIC</b>' : ''}` +
    ` · GeoIP: ${esc(g.type ?? 'none')}${g.error ? ` <span class="err">${esc(g.error)}</span>` : ''}</p>` +
    `<h2>Zones</h2><table><thead><tr><th>zone</th><th>serial</th><th>state</th><th>loaded</th><th>file</th><th>errors</th></tr></thead><tbody>${zones}</tbody></table>` +
    `<h2>Pools</h2>${pools || '<p>No pools.</p>'}`
  );
}

export function statusPage(st: Status): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>steerdns</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; }
h1 { margin: 0 0 .2em; } h2 { margin-top: 1.4em; } h3 { margin: 1.2em 0 .3em; } h4 { margin: .6em 0 .2em; }
small, .meta, .file { color: #666; font-weight: normal; }
table { border-collapse: collapse; margin-bottom: .5em; } th, td { padding: .2em .8em .2em 0; text-align: left; vertical-align: top; }
th { border-bottom: 1px solid #ccc; font-weight: 600; }
.dot { display: inline-block; width: .7em; height: .7em; border-radius: 50%; margin-right: .4em; background: #2a2; }
tr.down .dot { background: #d22; } tr.changing .dot { background: #e90; } tr.admin .dot { background: #999; }
tr.down td, .err { color: #b00; } tr.error td { color: #b00; } tr.stale td { color: #a60; }
section { border-top: 1px solid #eee; }
.override { background: #fec; color: #840; padding: 0 .3em; border-radius: .2em; white-space: nowrap; }
.obs.down, .verdict.down { color: #b00; }
.override.down { background: #fdd; color: #b00; } .override.up { background: #dfd; color: #060; }
</style></head>
<body><h1>steerdns</h1><div id="status">${statusFragment(st)}</div>
<script>
setInterval(async () => {
  try {
    const r = await fetch('/?fragment=1', { cache: 'no-store' });
    if (r.ok) document.getElementById('status').innerHTML = await r.text();
  } catch (e) { /* the server is restarting: the next tick tries again */ }
}, 2000);
</script></body></html>
`;
}
