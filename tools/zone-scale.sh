#!/usr/bin/env bash
# Zone scale: generates a zone of N names (default 1,000,000 A records, one per line), starts the real
# server on it and reports the load time (start to the "serving" log line), the peak RSS (VmHWM), the RSS
# once serving (VmRSS, after a full garbage collection has had its chance: 2 s after the "serving" line), and
# dnsperf QPS over random names of the big zone against the same query shape on a small zone.
#
#   bash tools/zone-scale.sh            # N=1000000, 10 s of dnsperf per zone
#   N=200000 DURATION=5 bash tools/zone-scale.sh
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
N=${N:-1000000}
DURATION=${DURATION:-10}
PORT=${PORT:-5345}
command -v dnsperf >/dev/null || { echo "needs dnsperf (apt-get install -y dnsperf)"; exit 1; }
[ -f "$ROOT/dist/cli.js" ] || (cd "$ROOT" && npm run build >/dev/null)
WORK=$(mktemp -d)
SERVER=
trap '[ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"' EXIT
PIN0=(); PIN1=()
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then PIN0=(taskset -c 0); PIN1=(taskset -c 1); fi

node - "$WORK" "$N" <<'JS'
const fs = require('fs');
const [dir, n] = [process.argv[2], Number(process.argv[3])];
for (const [name, count] of [['big', n], ['small', 1000]]) {
  fs.mkdirSync(`${dir}/${name}/zones`, { recursive: true });
  const parts = [`origin: ${name}.test\nttl: 300\nsoa: { ns: ns1.${name}.test., email: h@${name}.test }\nrecords:\n  "@": { NS: [ns1] }\n  ns1: { A: 192.0.2.53 }\n`];
  for (let i = 0; i < count; i++) parts.push(`  h${i}: { A: ${10 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}.1 }\n`);
  fs.writeFileSync(`${dir}/${name}/zones/${name}.test.yaml`, parts.join(''));
  fs.writeFileSync(`${dir}/${name}/steerdns.yaml`, `listen: ["127.0.0.1:${process.env.PORT || 5345}"]\nzones: ./zones\nlimits: { zone_bytes: 2GB }\nlog: { level: info }\n`);
  // 10,000 random names of the zone (and 10% that do not exist)
  let seed = 7;
  const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const q = [];
  for (let i = 0; i < 10000; i++) q.push(i % 10 === 9 ? `nx${i}.${name}.test A` : `h${Math.floor(rnd() * count)}.${name}.test A`);
  fs.writeFileSync(`${dir}/${name}/queries.txt`, `${q.join('\n')}\n`);
}
JS
echo "zone-scale: $N names ($(du -h "$WORK/big/zones/big.test.yaml" | cut -f1) of YAML) · node $(node -v) · $(nproc) cores"
printf '%-6s %10s %12s %8s %9s %10s %8s\n' zone 'load s' 'peak RSS MB' 'RSS MB' QPS 'lat ms' lost
for z in small big; do
  start=$(date +%s.%N)
  (cd "$WORK/$z" && exec "${PIN0[@]}" node "$ROOT/dist/cli.js" serve -c steerdns.yaml) >"$WORK/$z/server.log" 2>&1 &
  SERVER=$!
  until grep -q '"serving"' "$WORK/$z/server.log" 2>/dev/null; do
    kill -0 "$SERVER" 2>/dev/null || { cat "$WORK/$z/server.log"; exit 1; }
    sleep 0.1
  done
  loaded=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}')
  hwm=$(awk '/VmHWM/{printf "%.0f", $2/1024}' "/proc/$SERVER/status")
  sleep 2
  rss=$(awk '/VmRSS/{printf "%.0f", $2/1024}' "/proc/$SERVER/status")
  out=$("${PIN1[@]}" dnsperf -s 127.0.0.1 -p "$PORT" -d "$WORK/$z/queries.txt" -l "$DURATION" -c 4 -q 100 -T 1 2>&1)
  qps=$(awk '/Queries per second:/{printf "%.0f", $4}' <<<"$out")
  lat=$(awk '/Average Latency \(s\):/{printf "%.3f", $4*1000}' <<<"$out")
  lost=$(awk '/Queries lost:/{print $4}' <<<"$out" | tr -d '()')
  printf '%-6s %10s %12s %8s %9s %10s %8s\n' "$z" "$loaded" "$hwm" "$rss" "$qps" "$lat" "$lost"
  kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=
done
