#!/usr/bin/env bash
# profile-alb.sh — perf profile of berth's data plane under the harness's load: the four nginx
# backends, berth-alb.sh (real `berth up` + the load balancer made through the API), wrk -c64 on
# /product-svc/, and `perf record` of berth's process during the load.
#
#   bench/profile-alb.sh                      # 10 s, shared mode
#   PIN=1 bench/profile-alb.sh                # berth alone on CPU 1, wrk + backends on CPU 0
#   DURATION=5 OUT=/tmp/prof bench/profile-alb.sh
#
# Writes $OUT/perf.data, $OUT/report.txt (flat, by symbol) and, when inferno is installed
# (`cargo install inferno`), $OUT/flame.svg. Needs perf (Debian: linux-perf), nginx, wrk, boto3.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DURATION=${DURATION:-10}
OUT=${OUT:-$HERE/results/profile-$(date +%Y%m%d-%H%M%S)}
CONNS=${CONNS:-64}
URL=${URL:-http://127.0.0.1:8080/product-svc/}
mkdir -p "$OUT"; OUT=$(cd "$OUT" && pwd)
RUN=$(mktemp -d /tmp/profile-alb.XXXXXX); mkdir -p "$RUN/tmp"; chmod 755 "$RUN"
PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]+"${PIDS[@]}"}"; do kill -TERM "$p" 2>/dev/null; done
    for p in "${PIDS[@]+"${PIDS[@]}"}"; do wait "$p" 2>/dev/null; done
    rm -rf "$RUN"
}
trap cleanup EXIT
pin_load=(); pin_sut=(); workers=$(nproc)
if [ "${PIN:-}" = 1 ]; then pin_load=(taskset -c 0); pin_sut=(taskset -c 1); workers=1; fi

sed -e "s#@RUN@#$RUN#g" -e "s#@WORKERS@#$workers#g" "$HERE/conf/backends.nginx.conf" > "$RUN/backends.conf"
"${pin_load[@]+"${pin_load[@]}"}" nginx -p "$RUN" -e "$RUN/backends.error.log" -c "$RUN/backends.conf" > "$RUN/backends.out" 2>&1 &
PIDS+=($!)
BENCH_READY_FILE=$RUN/ready "${pin_sut[@]+"${pin_sut[@]}"}" "$HERE/berth-alb.sh" > "$OUT/berth.out" 2>&1 &
LAUNCHER=$!; PIDS+=("$LAUNCHER")
for _ in $(seq 900); do [ -e "$RUN/ready" ] && break; kill -0 "$LAUNCHER" 2>/dev/null || break; sleep 0.1; done
[ -e "$RUN/ready" ] || { echo "profile-alb: berth did not get ready" >&2; tail "$OUT/berth.out" >&2; exit 1; }
BERTH_PID=$(ps -o pid= --ppid "$LAUNCHER" | head -1 | tr -d ' ')
timeout 30 "${pin_load[@]+"${pin_load[@]}"}" wrk -t2 -c"$CONNS" -d2s "$URL" > /dev/null    # warm-up
timeout $((DURATION + 30)) "${pin_load[@]+"${pin_load[@]}"}" wrk -t2 -c"$CONNS" -d"$((DURATION + 2))s" --latency "$URL" > "$OUT/wrk.txt" 2>&1 &
WRK=$!
sleep 1
timeout $((DURATION + 20)) perf record -F "${FREQ:-999}" -g --call-graph "${CALLGRAPH:-dwarf,32768}" -p "$BERTH_PID" -o "$OUT/perf.data" -- sleep "$DURATION" 2> "$OUT/perf-record.log"
wait "$WRK"
perf report -i "$OUT/perf.data" --no-children --sort symbol --stdio --percent-limit 0.5 -g none 2>/dev/null > "$OUT/report.txt"
perf report -i "$OUT/perf.data" --no-children --sort dso --stdio -g none 2>/dev/null > "$OUT/report-dso.txt"
perf report -i "$OUT/perf.data" --children --sort symbol --stdio --percent-limit 2 -g none 2>/dev/null > "$OUT/report-children.txt"
if command -v inferno-collapse-perf >/dev/null; then
    perf script -i "$OUT/perf.data" 2>/dev/null | inferno-collapse-perf > "$OUT/stacks.folded" && inferno-flamegraph < "$OUT/stacks.folded" > "$OUT/flame.svg"
fi
grep -E "Requests/sec|50%|99%" "$OUT/wrk.txt"
head -45 "$OUT/report.txt"
echo "profile in $OUT"
