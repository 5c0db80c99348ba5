#!/usr/bin/env bash
# Benchmarks steerdns with dnsperf on this machine: the server pinned to core 0, dnsperf to core 1 (when
# there are two cores and taskset), closed loop with 100 queries outstanding. Prints QPS, server µs of CPU
# per answered query (core 0 busy time / answers, kernel send path included), average latency and loss for:
#   static      a static zone mix (60% a 4-address A RRset, MX, TXT, NXDOMAIN, NODATA)
#   dyn         a geo-steered pool name (nearest of two regions, overlay for 127.0.0.0/8), no ECS
#   dyn-ecs     the same with one fixed EDNS Client Subnet on every query (dnsperf -E)
#   dyn-ecs-10k the same with 10,000 distinct client /24s (a GeoIP lookup for each, not a cache hit)
#
#   bash tools/bench.sh                      # 10 s per case
#   DURATION=5 WORKERS=2 bash tools/bench.sh
#   GEODB=/path/GeoLite2-City.mmdb bash tools/bench.sh   # default: the bundled country database
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DURATION=${DURATION:-10}
WORKERS=${WORKERS:-1}
PORT=${PORT:-5340}
OUTST=${OUTST:-100}
if ! command -v dnsperf >/dev/null; then
  echo "installing dnsperf (Debian package)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y dnsperf >/dev/null
fi
[ -f "$ROOT/dist/cli.js" ] || (cd "$ROOT" && npm run build >/dev/null)
WORK=$(mktemp -d)
trap 'kill "$SERVER" 2>/dev/null; wait "$SERVER" 2>/dev/null; rm -rf "$WORK"' EXIT
mkdir -p "$WORK/zones"
node "$ROOT/tools/bench-queries.mjs" "$WORK" 2>/dev/null
cat >"$WORK/zones/example.test.yaml" <<ZONE
origin: example.test
ttl: 300
soa: { ns: ns1.example.test., email: hostmaster@example.test, refresh: 3600, retry: 600, expire: 1209600, minimum: 300 }
records:
  "@": { NS: [ns1, ns2], MX: [{ preference: 10, exchange: mail }], TXT: ["v=spf1 -all"] }
  ns1: { A: 192.0.2.53 }
  ns2: { A: 198.51.100.53 }
  mail: { A: 192.0.2.25 }
  www: { A: [192.0.2.10, 192.0.2.11, 192.0.2.12, 192.0.2.13] }
  geo:
    pool:
      ttl: 30
      policy: nearest
      check: { type: none }
      regions:
        us-east: [192.0.2.20, 192.0.2.21, 192.0.2.22, 192.0.2.23]
        eu-west: [198.51.100.20, 198.51.100.21, 198.51.100.22, 198.51.100.23]
        ap-south: [203.0.113.20, 203.0.113.21]
ZONE
cat >"$WORK/steerdns.yaml" <<CONF
listen: ["127.0.0.1:$PORT"]
zones: ./zones
workers: $WORKERS
regions:
  us-east:  { location: [39.0, -77.5] }
  eu-west:  { location: [53.3, -6.3] }
  ap-south: { location: [19.1, 72.9] }
geoip:
  ${GEODB:+database: $GEODB}
  networks: { "127.0.0.0/8": { region: eu-west } }
  ecs: true
log: { level: warn }
CONF
PIN0=(); PIN1=()
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ] && [ "$WORKERS" = 1 ]; then PIN0=(taskset -c 0); PIN1=(taskset -c 1); fi
(cd "$WORK" && exec "${PIN0[@]}" node "$ROOT/dist/cli.js" serve -c steerdns.yaml) >"$WORK/server.log" 2>&1 &
SERVER=$!
for _ in $(seq 1 100); do dig @127.0.0.1 -p "$PORT" +time=1 +tries=1 +short geo.example.test >/dev/null 2>&1 && break; sleep 0.1; done

busy0() { awk '/^cpu0 /{print $2+$3+$4+$7+$8, $2+$3+$4+$5+$6+$7+$8}' /proc/stat; }
run() { # name, dnsperf args...
  local name=$1; shift
  local a b out
  a=$(busy0)
  out=$("${PIN1[@]}" dnsperf -s 127.0.0.1 -p "$PORT" -l "$DURATION" -c 4 -q "$OUTST" -T 1 "$@" 2>&1)
  b=$(busy0)
  local qps lat lost answered
  qps=$(awk '/Queries per second:/{printf "%.0f", $4}' <<<"$out")
  lat=$(awk '/Average Latency \(s\):/{printf "%.3f", $4*1000}' <<<"$out")
  lost=$(awk '/Queries lost:/{print $4}' <<<"$out" | tr -d '()')
  answered=$(awk '/Queries completed:/{print $3}' <<<"$out")
  # core 0 busy jiffies (1/100 s) per answered query, in µs
  local us
  us=$(awk -v a="$a" -v b="$b" -v n="$answered" 'BEGIN{split(a,x," "); split(b,y," "); printf "%.2f", (y[1]-x[1])*10000/(n>0?n:1)}')
  printf '%-12s %9s %10s %10s %8s\n' "$name" "$qps" "$us" "$lat" "$lost"
}
echo "steerdns $(node -p "require('$ROOT/package.json').version") · node $(node -v) · dnsperf $(dnsperf -h 2>&1 | awk '/^Version/{print $2}') · workers $WORKERS · ${DURATION}s each · $(nproc) cores"
printf '%-12s %9s %10s %10s %8s\n' case QPS 'µs/query' 'lat ms' lost
run static -d "$WORK/static.txt"
run dyn -d "$WORK/dyn.txt"
run dyn-ecs -d "$WORK/dyn.txt" -E 8:00011800d60000
run dyn-ecs-10k -B -d "$WORK/ecs-10k.bin"
