#!/usr/bin/env bash
# Benchmarks steerdns with dnsperf on this machine, over loopback: the server pinned to core 0, dnsperf to
# core 1 (when there are two cores and taskset), closed loop with 100 queries outstanding. Prints QPS, server
# µs of CPU per answered query (core 0 busy time / answers, kernel send path included), average latency and
# loss for:
#   static       a static zone mix (60% a 4-address A RRset, MX, TXT, NXDOMAIN, NODATA)
#   dyn          a geo-steered pool name (nearest of three regions, overlay for 127.0.0.0/8), no ECS
#   dyn-ecs      the same with one fixed EDNS Client Subnet on every query (dnsperf -E)
#   dyn-ecs-10k  the same with 10,000 distinct client /24s. dnsperf loops over its file (~60 times in 10 s)
#   dyn-ecs-1m   the same with 1,000,000 distinct client /24s: a /24 recurs only after 999,999 others (the
#                many-clients case; each query walks the pool's compiled decision table, no per-client cache)
# The ECS /24s are public and located by the database the server uses. The cold-ECS ratio, dyn-ecs-1m's QPS
# over dyn-ecs's (one /24), is printed after the table: both run in the same invocation, a minute apart. Before measuring, one query per case
# is checked with dig (rcode and addresses, ECS answered from the right region); each run's dnsperf
# response codes are printed, and a run with more than 1% of other rcodes than NOERROR/NXDOMAIN fails.
# Always rebuilds (npm run build) first, so what is measured is the source as it is.
#
#   bash tools/bench.sh                      # 10 s per case
#   DURATION=5 WORKERS=2 bash tools/bench.sh
#   GEODB=/path/GeoLite2-City.mmdb bash tools/bench.sh   # default: the bundled country database
#   PORT=5341 bash tools/bench.sh            # default 5340 (127.0.0.1)
#   DNSSEC=1 bash tools/bench.sh             # the zone signed (steerdns keygen, algorithm 13), and two more
#                                            # runs with DO=1 on every query (dnsperf -D): static and dyn, signed
#                                            # online with the signature cache warm after the first pass
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DURATION=${DURATION:-10}
WORKERS=${WORKERS:-1}
PORT=${PORT:-5340}
OUTST=${OUTST:-100}
WORK=''
SERVER=''
cleanup() {
  if [ -n "$SERVER" ]; then kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; fi
  if [ -n "$WORK" ]; then rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
fail() { echo "bench.sh: $*" >&2; exit 1; }

need=()
command -v dnsperf >/dev/null || need+=(dnsperf)
command -v dig >/dev/null || need+=(bind9-dnsutils)
if [ "${#need[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing ${need[*]} (Debian packages)" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  else
    fail "needs ${need[*]}: on Debian or Ubuntu run 'sudo apt-get update && sudo apt-get install -y ${need[*]}'" \
      "(elsewhere install dnsperf and dig with your package manager), then run this again"
  fi
fi

WORK=$(mktemp -d)
echo "building (npm run build)" >&2
(cd "$ROOT" && npm run build --silent) >"$WORK/build.log" 2>&1 || { cat "$WORK/build.log" >&2; fail "npm run build failed"; }
mkdir -p "$WORK/zones"
GEODB=${GEODB:-} node "$ROOT/tools/bench-queries.mjs" "$WORK" || fail "generating the query files failed"

declare -A REGION=(
  [us-east]='192.0.2.20 192.0.2.21 192.0.2.22 192.0.2.23'
  [eu-west]='198.51.100.20 198.51.100.21 198.51.100.22 198.51.100.23'
  [ap-south]='203.0.113.20 203.0.113.21'
)
list() { sed 's/ /, /g' <<<"$1"; }
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
        us-east: [$(list "${REGION[us-east]}")]
        eu-west: [$(list "${REGION[eu-west]}")]
        ap-south: [$(list "${REGION[ap-south]}")]
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
if [ "${DNSSEC:-0}" = 1 ]; then
  KEY=$(cd "$WORK" && node "$ROOT/dist/cli.js" keygen example.test --algorithm "${ALGORITHM:-13}" --dir "$WORK" | head -1)
  printf 'dnssec:\n  example.test: { keys: ["%s"] }\n' "$KEY" >>"$WORK/steerdns.yaml"
fi

# another server on the port (another benchmark, say) would answer, or share it with SO_REUSEPORT
if dig @127.0.0.1 -p "$PORT" +time=1 +tries=1 example.test SOA >/dev/null 2>&1; then
  fail "something already answers on 127.0.0.1:$PORT: stop it or choose another PORT="
fi
PIN0=(); PIN1=()
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ] && [ "$WORKERS" = 1 ]; then PIN0=(taskset -c 0); PIN1=(taskset -c 1); fi
(cd "$WORK" && exec "${PIN0[@]}" node "$ROOT/dist/cli.js" serve -c steerdns.yaml) >"$WORK/server.log" 2>&1 &
SERVER=$!
ready=''
for _ in $(seq 1 100); do
  kill -0 "$SERVER" 2>/dev/null || { cat "$WORK/server.log" >&2; SERVER=''; fail "the server exited"; }
  if dig @127.0.0.1 -p "$PORT" +time=1 +tries=1 example.test SOA >/dev/null 2>&1; then ready=1; break; fi
  sleep 0.1
done
[ -n "$ready" ] || { cat "$WORK/server.log" >&2; fail "the server did not answer on 127.0.0.1:$PORT within 10 s"; }

# check: what, expected rcode, exact|within, expected addresses, dig arguments...
check() {
  local what=$1 rcode=$2 mode=$3 want=$4; shift 4
  local out status got a
  out=$(dig @127.0.0.1 -p "$PORT" +time=2 +tries=1 "$@" 2>&1) || fail "check $what: no answer to dig $*: $out"
  status=$(sed -n 's/.*->>HEADER<<-.* status: \([A-Z]*\),.*/\1/p' <<<"$out")
  got=$(awk '!/^;/ && $4 == "A" {print $5}' <<<"$out" | sort | xargs)
  local bad=''
  [ "$status" = "$rcode" ] || bad="rcode $status, expected $rcode"
  if [ -z "$bad" ] && [ "$mode" = exact ] && [ "$got" != "$(xargs -n1 <<<"$want" | sort | xargs)" ]; then bad="answer [$got], expected [$want]"; fi
  if [ -z "$bad" ] && [ "$mode" = within ]; then
    [ -n "$got" ] || bad="no addresses, expected some of [$want]"
    for a in $got; do [[ " $want " == *" $a "* ]] || bad="answer [$got], expected addresses of [$want]"; done
  fi
  [ -z "$bad" ] || { echo "$out" >&2; fail "check $what: $bad"; }
  printf 'check %-72s %s %s\n' "$what" "$status" "$got" >&2
}
check 'static: www.example.test A' NOERROR exact '192.0.2.10 192.0.2.11 192.0.2.12 192.0.2.13' www.example.test A
check 'static: nx1.example.test A' NXDOMAIN exact '' nx1.example.test A
check 'dyn: geo.example.test A from 127.0.0.1 (overlay: eu-west)' NOERROR within "${REGION[eu-west]}" geo.example.test A
check 'dyn-ecs: geo.example.test A, ECS 214.0.0.0/24 (US: us-east)' NOERROR within "${REGION[us-east]}" +subnet=214.0.0.0/24 geo.example.test A
for c in dyn-ecs-10k dyn-ecs-1m; do
  grep -q "^$c	" "$WORK/checks.tsv" || fail "checks.tsv has no /24 of a known country for $c"
done
while IFS=$'\t' read -r name subnet cc region; do
  check "$name: geo.example.test A, ECS $subnet ($cc: $region)" NOERROR within "${REGION[$region]}" +subnet="$subnet" geo.example.test A
done <"$WORK/checks.tsv"

busy0() { awk '/^cpu0 /{print $2+$3+$4+$7+$8, $2+$3+$4+$5+$6+$7+$8}' /proc/stat; }
ROW='%-56s %9s %10s %10s %8s\n'
RCODES=()
run() { # label, dnsperf args...
  local name=$1; shift
  local a b out
  a=$(busy0)
  out=$("${PIN1[@]}" dnsperf -s 127.0.0.1 -p "$PORT" -l "$DURATION" -c 4 -q "$OUTST" -T 1 "$@" 2>&1) \
    || { echo "$out" >&2; fail "dnsperf failed ($name)"; }
  b=$(busy0)
  local qps lat lost answered codes
  qps=$(awk '/Queries per second:/{printf "%.0f", $4}' <<<"$out")
  lat=$(awk '/Average Latency \(s\):/{printf "%.3f", $4*1000}' <<<"$out")
  lost=$(awk '/Queries lost:/{print $4}' <<<"$out" | tr -d '()')
  answered=$(awk '/Queries completed:/{print $3}' <<<"$out")
  QPS=$qps
  codes=$(sed -n 's/^ *Response codes: *//p' <<<"$out")
  # core 0 busy jiffies (1/100 s) per answered query, in µs
  local us
  us=$(awk -v a="$a" -v b="$b" -v n="$answered" 'BEGIN{split(a,x," "); split(b,y," "); printf "%.2f", (y[1]-x[1])*10000/(n>0?n:1)}')
  printf "$ROW" "$name" "$qps" "$us" "$lat" "$lost"
  RCODES+=("$(printf '%-56s %s' "$name" "${codes:-none}")")
  [ "${answered:-0}" -gt 0 ] || { echo "$out" >&2; fail "$name: no query answered"; }
  # every answer should be NOERROR or NXDOMAIN: anything else (REFUSED, SERVFAIL, FORMERR...) above 1% fails
  local other
  other=$(awk -v s="$codes" 'BEGIN{n=split(s,p,", "); for(i=1;i<=n;i++){split(p[i],f," "); t+=f[2]; if(f[1]!="NOERROR" && f[1]!="NXDOMAIN") o+=f[2]} printf "%d", (t>0 && o*100>t) ? 1 : 0}')
  [ "$other" = 0 ] || { echo "$out" >&2; fail "$name: more than 1% of the responses are neither NOERROR nor NXDOMAIN: $codes"; }
}
echo "steerdns $(node -p "require('$ROOT/package.json').version") · node $(node -v) · dnsperf $(dnsperf -h 2>&1 | awk '/^Version/{print $2}') · workers $WORKERS · ${DURATION}s each · $(nproc) cores"
# (µ is two bytes: one more column for the printf width)
printf '%-56s %9s %11s %10s %8s\n' case QPS 'µs/query' 'lat ms' lost
run static -d "$WORK/static.txt"
run 'dyn (geo pool, no ECS)' -d "$WORK/dyn.txt"
run 'dyn-ecs (one fixed client /24)' -d "$WORK/dyn.txt" -E 8:00011800d60000
QPS_ONE=$QPS
run 'dyn-ecs-10k: 10,000 /24s' -B -d "$WORK/ecs-10k.bin"
run 'dyn-ecs-1m: 1,000,000 /24s' -B -d "$WORK/ecs-1m.bin"
QPS_1M=$QPS
if [ "${DNSSEC:-0}" = 1 ]; then
  run 'static, DO=1 (signed online, cache warm)' -D -d "$WORK/static.txt"
  run 'dyn (geo pool, no ECS), DO=1 (signed online)' -D -d "$WORK/dyn.txt"
fi
echo
echo "cold ECS: dyn-ecs-1m answers $(awk -v a="$QPS_1M" -v b="$QPS_ONE" 'BEGIN{printf "%.1f", 100*a/b}')% of dyn-ecs's QPS in this run ($QPS_1M / $QPS_ONE)"
echo
echo 'dnsperf response codes:'
printf '  %s\n' "${RCODES[@]}"
echo
