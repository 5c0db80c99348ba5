#!/usr/bin/env bash
# Soak: the server under dnsperf at the highest rate it sustains (closed loop, 100 queries outstanding)
# for DURATION seconds (default 600), with the health of a pool's backends flapping every few seconds and
# zone reloads every RELOAD_EVERY seconds (default 60). Samples the server's RSS every 10 s and writes a
# report: RSS at minute 2 and at the end, queries sent and lost, QPS, log line counts, whether the server
# lived to the end.
#
#   bash tools/soak.sh                              # 10 minutes
#   DURATION=120 bash tools/soak.sh                 # shorter
#   DURATION=20 RELOAD_EVERY=5 bash tools/soak.sh   # a quick one that still reloads (test/operate/soak.test.ts)
#
# Environment: DURATION, RELOAD_EVERY, PORT (DNS, default 5348), BACKEND_PORT (the backends' HTTP port on
# 127.0.3.1–4, default 18180), REPORT (default ./soak-report.txt), START_TIMEOUT (seconds to wait for the
# server to answer, default 15), KEEP (a path to keep the server's log at).
# Exit status: 0 when the run completed with the server alive; 1 when the server did not start, dnsperf
# failed, or the server died during the run (the report is printed anyway).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DURATION=${DURATION:-600}
RELOAD_EVERY=${RELOAD_EVERY:-60}
PORT=${PORT:-5348}
BACKEND_PORT=${BACKEND_PORT:-18180}
START_TIMEOUT=${START_TIMEOUT:-15}
REPORT=${REPORT:-$ROOT/soak-report.txt}
for v in DURATION RELOAD_EVERY PORT BACKEND_PORT START_TIMEOUT; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "$v must be a positive whole number, not \"${!v}\""; exit 1; }
done
command -v dnsperf >/dev/null || { echo "needs dnsperf (apt-get install -y dnsperf)"; exit 1; }
[ -f "$ROOT/dist/cli.js" ] || (cd "$ROOT" && npm run build >/dev/null)
WORK=$(mktemp -d)
PIDS=()
# (set +e: a process already gone, the server that died, must not stop the cleaning up half way)
trap 'set +e; for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; [ -n "${KEEP:-}" ] && cp "$WORK/server.log" "$KEEP"; rm -rf "$WORK"' EXIT
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
      check: { type: http, port: $BACKEND_PORT, path: /healthz }
      regions:
        near: [127.0.3.1, 127.0.3.2]
        far: [127.0.3.3, 127.0.3.4]
ZONE
}
zone 0 >"$WORK/zones/soak.test.yaml"
# backends: four HTTP servers; every 3 s one of them stops or starts again
node -e '
  const http = require("http");
  const port = Number(process.argv[1]);
  const hosts = ["127.0.3.1", "127.0.3.2", "127.0.3.3", "127.0.3.4"];
  const servers = new Map();
  const start = (h) => {
    const s = http.createServer((q, r) => r.end("ok"));
    s.on("error", (e) => { console.error(`backend ${h}:${port}: ${e.message}`); process.exit(1); });
    s.listen(port, h); servers.set(h, s);
  };
  hosts.forEach(start);
  let i = 0;
  setInterval(() => { const h = hosts[i++ % hosts.length]; if (servers.has(h)) { servers.get(h).close(); servers.get(h).closeAllConnections(); servers.delete(h); } else start(h); }, 3000);
' "$BACKEND_PORT" >"$WORK/backends.log" 2>&1 &
BACKENDS=$!; PIDS+=($BACKENDS)
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
# alive: the PID exists and is no zombie
alive() { [ -r "/proc/$1/status" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }
# wait for an answer (from this server: the address of ns1.soak.test, not whatever else holds the port)
deadline=$((SECONDS + START_TIMEOUT))
until dig @127.0.0.1 -p "$PORT" +time=1 +tries=1 +short ns1.soak.test 2>/dev/null | grep -qx 192.0.2.53; do
  if ! alive "$SERVER"; then
    echo "soak: the server exited before answering; its log:"; cat "$WORK/server.log"; exit 1
  fi
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "soak: the server did not answer ns1.soak.test on 127.0.0.1:$PORT within ${START_TIMEOUT}s; its log:"; cat "$WORK/server.log"; exit 1
  fi
  sleep 0.2
done
alive "$BACKENDS" || { echo "soak: the backends did not start:"; cat "$WORK/backends.log"; exit 1; }
# zone reloads every RELOAD_EVERY s (a new TXT generation). The loops write to files, not to this script's
# output: a `sleep` left behind when they are stopped would otherwise hold the caller's pipe open.
( g=1; while sleep "$RELOAD_EVERY"; do zone $g >"$WORK/zones/soak.tmp" && mv "$WORK/zones/soak.tmp" "$WORK/zones/soak.test.yaml"; g=$((g+1)); done ) >"$WORK/reload.log" 2>&1 &
PIDS+=($!)
rss() { awk '/VmRSS/{printf "%.1f", $2/1024}' "/proc/$SERVER/status" 2>/dev/null; }
( t=0; while [ $t -le "$DURATION" ]; do echo "$t $(rss)"; sleep 10; t=$((t+10)); done ) >"$WORK/rss.log" 2>/dev/null &
PIDS+=($!)
perf=0
"${PIN1[@]}" dnsperf -s 127.0.0.1 -p "$PORT" -d "$WORK/queries.txt" -l "$DURATION" -c 4 -q 100 -T 1 >"$WORK/dnsperf.log" 2>&1 || perf=$?
if [ "$perf" -ne 0 ] || ! grep -q "Queries per second" "$WORK/dnsperf.log"; then
  echo "soak: dnsperf failed (exit status $perf); its output:"; cat "$WORK/dnsperf.log"
  alive "$SERVER" || { echo "soak: the server died; its log (last 50 lines):"; tail -50 "$WORK/server.log"; }
  exit 1
fi
sleep 1
# the server must have lived to the end (checked before the report; the report is printed either way)
if alive "$SERVER"; then
  server_state="alive to the end"
else
  st=0; wait "$SERVER" 2>/dev/null || st=$?
  server_state="DIED during the run (exit status $st)"
fi
at2=$(awk '$1==120{print $2}' "$WORK/rss.log")
last=$(tail -1 "$WORK/rss.log" | awk '{print $2}')
{
  echo "steerdns soak $(date -u +%FT%TZ): ${DURATION}s, node $(node -v), $(nproc) cores, backends flapping every 3 s, zone reload every ${RELOAD_EVERY} s"
  echo "command: DURATION=$DURATION RELOAD_EVERY=$RELOAD_EVERY bash tools/soak.sh"
  grep -E "Queries sent|Queries completed|Queries lost|Queries per second|Average Latency" "$WORK/dnsperf.log"
  echo "RSS MB at 2 min: ${at2:-n/a}; at the end: $last"
  [ -n "$at2" ] && awk -v a="$at2" -v b="$last" 'BEGIN{printf "RSS change minute 2 → end: %+.1f%%\n", (b-a)*100/a}'
  # RSS is a sawtooth (old-space collections every few minutes): a single sample depends on where in the cycle
  # it falls, so also compare the peaks of the first two minutes and of the last two
  awk -v d="$DURATION" '$1<=120 && $2>a {a=$2} $1>=d-120 && $2>b {b=$2} END{if (a>0 && d>=240) printf "RSS peak minutes 0–2: %.1f MB; last 2 minutes: %.1f MB (%+.1f%%)\n", a, b, (b-a)*100/a}' "$WORK/rss.log"
  echo "log lines: $(grep -c . "$WORK/server.log") ($(grep -c "up → down" "$WORK/server.log") targets down, $(grep -c "down → up" "$WORK/server.log") up, $(grep -c "zone loaded" "$WORK/server.log") zone loads, $(grep -cE "\"level\":(50|60)[,}]" "$WORK/server.log") errors)"
  echo "RSS samples (s MB):"; tr '\n' ' ' <"$WORK/rss.log"; echo
  echo "server: $server_state"
} | tee "$REPORT"
if [ "$server_state" != "alive to the end" ]; then
  echo "soak: the server died during the run; its log (last 50 lines):"; tail -50 "$WORK/server.log"
  exit 1
fi
exit 0
