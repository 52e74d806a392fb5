#!/usr/bin/env bash
# all.sh — every benchmark of bench/README.md in one go, one results folder:
#   alb.sh (berth vs nginx vs HAProxy vs direct), control-plane.sh (berth vs moto_server),
#   apply.sh (terraform apply/destroy of examples/two-services on berth vs moto_server).
# Run them in this order on a quiet machine; each prints its table into its own subfolder.
#
#   bench/all.sh                  # full: about 35 min (ALB REPS=5 x 8 s, control plane, apply REPS=2)
#   SMOKE=1 bench/all.sh          # each benchmark for about a second per measurement: ~3 min
#   BUILD=1 bench/all.sh          # cargo build --release first (berth, product-svc, user-svc)
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
if [ "${BUILD:-}" = 1 ]; then
    (cd "$REPO" && cargo build --release --locked -p berth -p product-svc -p user-svc)
fi
OUT=${RESULTS_DIR:-$HERE/results/all-$(date +%Y%m%d-%H%M%S)$([ "${SMOKE:-}" = 1 ] && echo -smoke || true)}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
step() { echo "== $1 $(date -u +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/driver.log"; }

if [ "${SMOKE:-}" = 1 ]; then
    step alb;           RESULTS_DIR=$OUT/alb "$HERE/alb.sh"
    step control-plane; RESULTS_DIR=$OUT/control-plane "$HERE/control-plane.sh"
    step apply;         RESULTS_DIR=$OUT/apply "$HERE/apply.sh"
else
    step alb;           REPS=${ALB_REPS:-5} DURATION=${ALB_DURATION:-8} RESULTS_DIR=$OUT/alb "$HERE/alb.sh"
    step control-plane; RESULTS_DIR=$OUT/control-plane "$HERE/control-plane.sh"
    step apply;         REPS=${APPLY_REPS:-2} RESULTS_DIR=$OUT/apply "$HERE/apply.sh"
fi
step done
echo "results: $OUT/{alb/summary.md,control-plane/control-plane.md,apply/apply.md}"
