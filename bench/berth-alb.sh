#!/usr/bin/env bash
# berth-alb.sh — the real product path as a PROXY_CMD for proxy-baseline.sh:
# `berth up --listener-ports exact` on a fresh data dir, then the seed stack's load balancer made
# through the AWS API (lib/alb_setup.py: VPC, ALB, two ip target groups, listener 8080 with the
# rules /product-svc* and /user-svc*, targets 10.0.0.11-14:3000 = 127.0.0.11-14:3000 through
# berth's loopback mapping), waits until every target is healthy, touches $BENCH_READY_FILE, then
# serves until SIGTERM.
#
#   BERTH_BIN      the berth binary (default: <repo>/target/release/berth)
#   BERTH_ARGS     extra `berth up` flags
#   BENCH_LISTEN   where the listener must be served (127.0.0.1:8080; the port is the listener's)
#   BERTH_LOG      berth's log filter (default warn)
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BERTH=${BERTH_BIN:-$HERE/../target/release/berth}
LISTEN=${BENCH_LISTEN:-127.0.0.1:8080}
PORT=${LISTEN##*:}
[ "${LISTEN%:*}" = 127.0.0.1 ] || { echo "berth-alb: berth's listeners bind 127.0.0.1 only" >&2; exit 2; }
[ -x "$BERTH" ] || { echo "berth-alb: no berth binary at $BERTH (cargo build --release -p berth)" >&2; exit 2; }

DATA=$(mktemp -d /tmp/berth-bench.XXXXXX)
BERTH_LOG=${BERTH_LOG:-warn} "$BERTH" up --listener-ports exact --data-dir "$DATA" --listen 127.0.0.1:0 ${BERTH_ARGS:-} &
PID=$!
finish() { kill -TERM "$PID" 2>/dev/null; wait "$PID" 2>/dev/null; rm -rf "$DATA"; exit "${1:-0}"; }
trap 'finish 0' TERM INT

for _ in $(seq 300); do                      # berth writes its endpoint when it is ready (<= 30 s)
    [ -s "$DATA/endpoint" ] && break
    kill -0 "$PID" 2>/dev/null || { echo "berth-alb: berth exited" >&2; finish 1; }
    sleep 0.1
done
ENDPOINT=$(cat "$DATA/endpoint" 2>/dev/null)
[ -n "$ENDPOINT" ] || { echo "berth-alb: berth did not start" >&2; finish 1; }
timeout 90 python3 "$HERE/lib/alb_setup.py" "$ENDPOINT" "$PORT" 60 || { echo "berth-alb: setup failed" >&2; finish 1; }
[ -n "${BENCH_READY_FILE:-}" ] && : > "$BENCH_READY_FILE"
wait "$PID"
