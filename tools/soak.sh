#!/usr/bin/env bash
# Soak: the server under dnsperf at the highest rate it sustains (closed loop, 100 queries outstanding)
# for DURATION seconds (default 600), with the health of a pool's backends flapping every few seconds and
# zone reloads every minute. Samples the server's RSS every 10 s and writes a report: RSS at minute 2 and
# at the end, queries sent and lost, QPS.
#
#   bash tools/soak.sh                 # 10 minutes
#   DURATION=120 bash tools/soak.sh    # shorter
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DURATION=${DURATION:-600}
PORT=${PORT:-5348}
REPORT=${REPORT:-$ROOT/soak-report.txt}
command -v dnsperf >/dev/null || { echo "needs dnsperf (apt-get install -y dnsperf)"; exit 1; }
[ -f "$ROOT/dist/cli.js" ] || (cd "$ROOT" && npm run build >/dev/null)
WORK=$(mktemp -d)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; [ -n "${KEEP:-}" ] && cp "$WORK/server.log" "$KEEP"; rm -rf "$WORK"' EXIT
mkdir -p "$WORK/zones"
cat >"$WORK/steerdns.yaml" <<CONF
listen: ["127.0.0.1:$PORT"]
zones: ./zones
regions:
  near: { location: [53.3, -6.3] }
  far:  { location: [39.0, -77.5] }
geoip:
  networks: { "127.0.0.0/8": { location: [51.5, -0.1] } }
health: { interval: 500ms, timeout: 300ms, rise: 1, fall: 1, panic: off }
log: { level: info }
CONF
zone() { cat <<ZONE
origin: soak.test
ttl: 300
soa: { ns: ns1.soak.test., email: h@soak.test, minimum: 60 }
records:
  "@": { NS: [ns1], MX: [{ preference: 10, exchange: mail }], TXT: ["generation $1"] }
  ns1: { A: 192.0.2.53 }
  mail: { A: 192.0.2.25 }
  www: { A: [192.0.2.10, 192.0.2.11, 192.0.2.12, 192.0.2.13] }
  app:
    pool:
      ttl: 30
      check: { type: http, port: 18180, path: /healthz }
      regions:
        near: [127.0.3.1, 127.0.3.2]
        far: [127.0.3.3, 127.0.3.4]
ZONE
}
zone 0 >"$WORK/zones/soak.test.yaml"
# backends: four HTTP servers; every 3 s one of them stops or starts again
node -e '
  const http = require("http");
  const hosts = ["127.0.3.1", "127.0.3.2", "127.0.3.3", "127.0.3.4"];
  const servers = new Map();
  const start = (h) => { const s = http.createServer((q, r) => r.end("ok")); s.listen(18180, h); servers.set(h, s); };
  hosts.forEach(start);
  let i = 0;
  setInterval(() => { const h = hosts[i++ % hosts.length]; if (servers.has(h)) { servers.get(h).close(); servers.get(h).closeAllConnections(); servers.delete(h); } else start(h); }, 3000);
' &
PIDS+=($!)
for i in $(seq 1 1000); do
  case $((i % 10)) in
    0|1|2|3) echo "app.soak.test A" ;; 4) echo "www.soak.test A" ;; 5) echo "soak.test MX" ;; 6) echo "nx$i.soak.test A" ;;
    7) echo "app.soak.test AAAA" ;; 8) echo "soak.test TXT" ;; 9) echo "ns1.soak.test A" ;;
  esac
done >"$WORK/queries.txt"
PIN0=(); PIN1=()
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then PIN0=(taskset -c 0); PIN1=(taskset -c 1); fi
(cd "$WORK" && exec "${PIN0[@]}" node "$ROOT/dist/cli.js" serve -c steerdns.yaml) >"$WORK/server.log" 2>&1 &
SERVER=$!; PIDS+=($SERVER)
until dig @127.0.0.1 -p "$PORT" +time=1 +tries=1 +short ns1.soak.test >/dev/null 2>&1; do sleep 0.2; done
# zone reloads every 60 s (a new TXT generation)
( g=1; while sleep 60; do zone $g >"$WORK/zones/soak.tmp" && mv "$WORK/zones/soak.tmp" "$WORK/zones/soak.test.yaml"; g=$((g+1)); done ) &
PIDS+=($!)
rss() { awk '/VmRSS/{printf "%.1f", $2/1024}' "/proc/$SERVER/status"; }
( t=0; while [ $t -le "$DURATION" ]; do echo "$t $(rss)"; sleep 10; t=$((t+10)); done ) >"$WORK/rss.log" &
PIDS+=($!)
"${PIN1[@]}" dnsperf -s 127.0.0.1 -p "$PORT" -d "$WORK/queries.txt" -l "$DURATION" -c 4 -q 100 -T 1 >"$WORK/dnsperf.log" 2>&1 || true
sleep 1
at2=$(awk '$1==120{print $2}' "$WORK/rss.log")
last=$(tail -1 "$WORK/rss.log" | awk '{print $2}')
{
  echo "steerdns soak $(date -u +%FT%TZ): ${DURATION}s, node $(node -v), $(nproc) cores, backends flapping every 3 s, zone reload every 60 s"
  echo "command: DURATION=$DURATION bash tools/soak.sh"
  grep -E "Queries sent|Queries completed|Queries lost|Queries per second|Average Latency" "$WORK/dnsperf.log"
  echo "RSS MB at 2 min: ${at2:-n/a}; at the end: $last"
  [ -n "$at2" ] && awk -v a="$at2" -v b="$last" 'BEGIN{printf "RSS change minute 2 → end: %+.1f%%\n", (b-a)*100/a}'
  # RSS is a sawtooth (old-space collections every few minutes): a single sample depends on where in the cycle
  # it falls, so also compare the peaks of the first two minutes and of the last two
  awk -v d="$DURATION" '$1<=120 && $2>a {a=$2} $1>=d-120 && $2>b {b=$2} END{if (a>0 && d>=240) printf "RSS peak minutes 0–2: %.1f MB; last 2 minutes: %.1f MB (%+.1f%%)\n", a, b, (b-a)*100/a}' "$WORK/rss.log"
  echo "log lines: $(grep -c . "$WORK/server.log") ($(grep -c "up → down" "$WORK/server.log") targets down, $(grep -c "down → up" "$WORK/server.log") up, $(grep -c "zone loaded" "$WORK/server.log") zone loads, $(grep -c "\"level\":50" "$WORK/server.log") errors)"
  echo "RSS samples (s MB):"; tr '\n' ' ' <"$WORK/rss.log"; echo
} | tee "$REPORT"
