#!/usr/bin/env bash
# CPU time per query of two steerdns checkouts, A/B: for each case and round, each checkout's server is started
# alone, pinned to core 0, warmed up with WARM queries, then sent QUERIES queries by dnsperf (core 1, closed
# loop of 50 outstanding); the server's utime + stime over that run (/proc/PID/stat), divided by the queries
# answered, is printed. Steadier than QPS on a loaded machine (a busy neighbour takes wall time, not the
# server's CPU time), though cache contention still shows. Uses the anchors harness's zones and query files
# (../shared/bench, `bash ../shared/bench/anchors.sh node-raw` installs them).
#
#   bash tools/ab-cpu.sh /path/to/checkout-A /path/to/checkout-B     # each after `npm install` there
#   ROUNDS=5 QUERIES=500000 bash tools/ab-cpu.sh A B
#
# Cases: static (the anchors' steerdns zone, mixed queries), dyn (the geo-steered www name).
set -euo pipefail
A=$(cd "$1" && pwd)
B=$(cd "$2" && pwd)
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH=${BENCH:-$ROOT/../shared/bench}
ROUNDS=${ROUNDS:-3}
QUERIES=${QUERIES:-200000}
WARM=${WARM:-50000}
PORT=${PORT:-5455}
for d in "$A" "$B"; do [ -f "$d/dist/cli.js" ] || { echo "ab-cpu: npm install in $d first" >&2; exit 1; }; done
WORK=$(mktemp -d)
SERVER=
trap '[ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"' EXIT
TICK=$(getconf CLK_TCK)

cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
run() { # checkout zones qfile
  cat >"$WORK/steerdns.yaml" <<EOC
listen: ["127.0.0.1:$PORT"]
zones: $2
geoip:
  networks: { "127.0.0.0/8": { region: dc-a }, "10.0.0.0/8": { region: dc-b } }
  ecs: true
regions:
  dc-a: { location: [39.0, -77.5] }
  dc-b: { location: [50.1, 8.7] }
log: { level: warn, queries: false }
state_dir: $WORK/state
EOC
  (cd "$1" && exec taskset -c 0 node dist/cli.js serve -c "$WORK/steerdns.yaml") >"$WORK/log" 2>&1 &
  SERVER=$!
  for _ in $(seq 1 100); do dig @127.0.0.1 -p "$PORT" +time=1 +tries=1 +short www.example.test A | grep -q . && break; sleep 0.1; done
  local lines passes warm
  lines=$(wc -l <"$BENCH/$3")
  passes=$(((QUERIES + lines - 1) / lines))
  warm=$(((WARM + lines - 1) / lines))
  taskset -c 1 dnsperf -s 127.0.0.1 -p "$PORT" -d "$BENCH/$3" -n "$warm" -c 4 -q 50 -T 1 >/dev/null 2>&1
  local t0 t1 out n
  t0=$(cpu "$SERVER")
  out=$(taskset -c 1 dnsperf -s 127.0.0.1 -p "$PORT" -d "$BENCH/$3" -n "$passes" -c 4 -q 50 -T 1 2>&1)
  t1=$(cpu "$SERVER")
  n=$(awk '/Queries completed:/{print $3}' <<<"$out")
  kill "$SERVER"
  wait "$SERVER" 2>/dev/null || true
  SERVER=
  awk -v a="$t0" -v b="$t1" -v n="$n" -v t="$TICK" 'BEGIN{printf "%.2f", (b - a) / t * 1e6 / n}'
}

echo "A: $A ($(git -C "$A" rev-parse --short HEAD 2>/dev/null || echo '?'))"
echo "B: $B ($(git -C "$B" rev-parse --short HEAD 2>/dev/null || echo '?'))"
echo "$ROUNDS rounds of $QUERIES queries per side and case; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-8s %-6s %12s %12s %7s\n' case round 'A us/query' 'B us/query' 'B/A'
for r in $(seq 1 "$ROUNDS"); do
  for c in static dyn; do
    if [ "$c" = static ]; then z=$BENCH/steerdns/zones q=queries.txt; else z=$BENCH/steerdns-dyn/zones q=queries-www.txt; fi
    # alternate which side goes first
    if [ $((r % 2)) -eq 1 ]; then a=$(run "$A" "$z" "$q"); b=$(run "$B" "$z" "$q"); else b=$(run "$B" "$z" "$q"); a=$(run "$A" "$z" "$q"); fi
    printf '%-8s %-6s %12s %12s %7.3f\n' "$c" "$r" "$a" "$b" "$(awk -v a="$a" -v b="$b" 'BEGIN{print b / a}')"
  done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
