#!/usr/bin/env bash
# Prober scale: 10,000 pools with 50,000 targets (distinct loopback addresses 127.10.0.0 …, one TCP
# listener each, held by 3 helper processes: a process may open at most 20,000 files here), TCP checks at a
# 10 s interval. Reports the server's CPU (user + system, from /proc) over a window after every target has
# been probed, the probe rate, and how many targets are up.
#
#   bash tools/prober-scale.sh                  # POOLS=10000 PER_POOL=5 INTERVAL=10s WINDOW=30
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
POOLS=${POOLS:-10000}
PER_POOL=${PER_POOL:-5}
INTERVAL=${INTERVAL:-10s}
WINDOW=${WINDOW:-30}
PORT=${PORT:-5346}
HTTP=${HTTP:-5347}
TARGET_PORT=${TARGET_PORT:-9099}
N=$((POOLS * PER_POOL))
[ -f "$ROOT/dist/cli.js" ] || (cd "$ROOT" && npm run build >/dev/null)
WORK=$(mktemp -d)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$WORK"' EXIT
addr='(i) => `127.${10 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`'
# the listeners: 3 processes, each accepting and closing at once
for part in 0 1 2; do
  node -e "
    const net = require('net'); const addr = $addr;
    const [part, n, port] = [${part}, ${N}, ${TARGET_PORT}];
    let up = 0; const mine = [];
    for (let i = part; i < n; i += 3) mine.push(i);
    for (const i of mine) net.createServer((s) => { s.on('error', () => {}); s.destroy(); }).listen(port, addr(i), () => { if (++up === mine.length) console.log('ready'); });
  " >"$WORK/listeners-$part.log" 2>&1 &
  PIDS+=($!)
done
node -e "
  const fs = require('fs'); const addr = $addr;
  const [pools, per] = [${POOLS}, ${PER_POOL}];
  const out = ['origin: scale.test', 'ttl: 300', 'soa: { ns: ns1.scale.test., email: h@scale.test }', 'records:', '  \"@\": { NS: [ns1] }', '  ns1: { A: 192.0.2.53 }'];
  let k = 0;
  for (let p = 0; p < pools; p++) {
    const t = []; for (let j = 0; j < per; j++) t.push(addr(k++));
    out.push('  p' + p + ':', '    pool:', '      answers: 2', '      check: { type: tcp, port: ${TARGET_PORT}, interval: ${INTERVAL}, timeout: 2s }', '      regions:', '        a: [' + t.join(', ') + ']');
  }
  fs.mkdirSync('$WORK/zones'); fs.writeFileSync('$WORK/zones/scale.test.yaml', out.join('\n') + '\n');
  fs.writeFileSync('$WORK/steerdns.yaml', 'listen: [\"127.0.0.1:${PORT}\"]\nzones: ./zones\nhttp: \"127.0.0.1:${HTTP}\"\nregions:\n  a: { location: [0, 0] }\nlog: { level: warn }\n');
"
for part in 0 1 2; do until grep -q ready "$WORK/listeners-$part.log"; do sleep 0.2; done; done
PIN=(); command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ] && PIN=(taskset -c 0)
(cd "$WORK" && exec "${PIN[@]}" node ${SERVER_NODE_ARGS:-} "$ROOT/dist/cli.js" serve -c steerdns.yaml) >"$WORK/server.log" 2>&1 &
SERVER=$!; PIDS+=($SERVER)
until curl -sf "127.0.0.1:$HTTP/readyz" >/dev/null 2>&1; do sleep 0.2; done
probes() { curl -s "127.0.0.1:$HTTP/metrics" | awk '/^steerdns_health_checks_total/{s+=$2} END{print s+0}'; }
ups() { curl -s "127.0.0.1:$HTTP/metrics" | awk '/^steerdns_target_up/{s+=$2} END{print s+0}'; }
sleep 15 # every target probed at least once (first probes are spread over one interval)
T=$(getconf CLK_TCK)
read -r u0 s0 < <(awk '{print $14, $15}' "/proc/$SERVER/stat"); p0=$(probes)
sleep "$WINDOW"
read -r u1 s1 < <(awk '{print $14, $15}' "/proc/$SERVER/stat"); p1=$(probes)
awk -v u0="$u0" -v s0="$s0" -v u1="$u1" -v s1="$s1" -v t="$T" -v w="$WINDOW" -v p0="$p0" -v p1="$p1" -v n="$N" -v up="$(ups)" 'BEGIN{
  printf "prober-scale: %d targets, TCP checks every %s\n", n, "'"$INTERVAL"'";
  printf "server CPU over %ds: user %.1f%% + system %.1f%% = %.1f%% of one core; %.0f probes/s; %d targets up\n", w, (u1-u0)*100/t/w, (s1-s0)*100/t/w, (u1-u0+s1-s0)*100/t/w, (p1-p0)/w, up }'
