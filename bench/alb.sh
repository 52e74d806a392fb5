#!/usr/bin/env bash
# alb.sh — berth's ALB data plane against nginx and HAProxy (and the direct-to-backend ceiling),
# in one run, interleaved: proxy-baseline.sh with berth-alb.sh (the real `berth up` + the load
# balancer made through the AWS API) as the proxy under test.
#
#   bench/alb.sh                 # full run: shared + pinned, c64 product + mixed + c1, REPS=3 x 10 s
#   SMOKE=1 bench/alb.sh         # ~1 min check: each target once for 1 s, fails on any error
#   REPS=5 MODES=pinned bench/alb.sh
#
# Every knob of proxy-baseline.sh applies (see README.md). Builds nothing unless BUILD=1
# (cargo build --release -p berth); BERTH_BIN picks another binary.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
export BERTH_BIN=${BERTH_BIN:-$REPO/target/release/berth}
if [ "${BUILD:-}" = 1 ]; then (cd "$REPO" && cargo build --release -p berth); fi
[ -x "$BERTH_BIN" ] || { echo "alb.sh: no berth at $BERTH_BIN: cargo build --release -p berth (or BUILD=1)" >&2; exit 2; }
command -v python3 >/dev/null && python3 -c 'import boto3' 2>/dev/null \
    || { echo "alb.sh: needs python3 with boto3 (pip install boto3)" >&2; exit 2; }

export PROXY_NAME=${PROXY_NAME:-berth}
export PROXY_CMD=${PROXY_CMD:-"$HERE/berth-alb.sh"}
export PROXY_READY_FILE=1
export READY_TIMEOUT=${READY_TIMEOUT:-90}
# BERTH_COMMIT names the commit BERTH_BIN was built from, when it is not this checkout's.
commit=${BERTH_COMMIT:-$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null)$(git -C "$REPO" diff --quiet HEAD -- crates 2>/dev/null || echo '+dirty')}
export BENCH_ENV_EXTRA="berth: $("$BERTH_BIN" --version 2>/dev/null) commit $commit binary $BERTH_BIN"
if [ "${SMOKE:-}" = 1 ]; then
    export DURATION=${DURATION:-1} REPS=${REPS:-1} WARMUP=${WARMUP:-1} STRICT=1
    export MODES=${MODES:-shared} SCENARIOS=${SCENARIOS:-"product c1"}
    export RESULTS_DIR=${RESULTS_DIR:-$HERE/results/smoke-alb-$(date +%Y%m%d-%H%M%S)}
fi
exec "$HERE/proxy-baseline.sh"
