#!/usr/bin/env bash
# control-plane.sh — berth's control plane against moto_server, in one run, interleaved:
#   startup: exec of `berth up` / `moto_server` to the first 200 of its health URL (RUNS each);
#   idle RSS: VmRSS/VmHWM 5 s after ready;
#   API latency: ECS DescribeClusters in a closed loop with one client, REPS x LOOP_SECONDS per server:
#     boto3 in one Python process (what an SDK user sees) and wrk -t1 -c1 replaying one signed
#     request (the server's own latency).
#   stack: `berth up <copy of examples/two-services>` (berth applies it with terraform): time to
#     4 tasks running and 4 healthy targets, RSS of berth and of its tasks then (STACK=0 skips;
#     SMOKE skips it: the provider's ALB waiter alone takes 60 s).
#
#   bench/control-plane.sh                    # RUNS=10 REPS=3 LOOP_SECONDS=10 + the stack, about 5 min
#   SMOKE=1 bench/control-plane.sh            # RUNS=2 REPS=1 LOOP_SECONDS=1, checks it all works
#   RUNS=5 REPS=2 LOOP_SECONDS=5 BERTH_BIN=... bench/control-plane.sh
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
BERTH_BIN=${BERTH_BIN:-$REPO/target/release/berth}
[ "${BUILD:-}" = 1 ] && (cd "$REPO" && cargo build --release -p berth)
[ -x "$BERTH_BIN" ] || { echo "control-plane.sh: no berth at $BERTH_BIN: cargo build --release -p berth (or BUILD=1)" >&2; exit 2; }
for t in wrk python3 moto_server timeout; do
    command -v "$t" >/dev/null || { echo "control-plane.sh: missing $t (apt-get install wrk; pip install 'moto[server]' boto3)" >&2; exit 2; }
done
python3 -c 'import boto3, moto' 2>/dev/null || { echo "control-plane.sh: needs boto3 and moto (pip install 'moto[server]' boto3)" >&2; exit 2; }
args=(control-plane --berth "$BERTH_BIN")
[ "${SMOKE:-}" = 1 ] && args+=(--smoke)
[ -n "${RUNS:-}" ] && args+=(--runs "$RUNS")
[ -n "${REPS:-}" ] && args+=(--reps "$REPS")
[ -n "${LOOP_SECONDS:-}" ] && args+=(--seconds "$LOOP_SECONDS")
[ -n "${IDLE_WAIT:-}" ] && args+=(--idle-wait "$IDLE_WAIT")
[ "${STACK:-1}" = 0 ] && args+=(--no-stack)
OUT=${RESULTS_DIR:-$HERE/results/control-plane-$(date +%Y%m%d-%H%M%S)$([ "${SMOKE:-}" = 1 ] && echo -smoke || true)}
exec timeout "${TIMEOUT:-1800}" python3 "$HERE/lib/cpbench.py" "${args[@]}" --out "$OUT"
