#!/usr/bin/env bash
# apply.sh — `terraform init/apply/destroy` of examples/two-services against berth and against
# moto_server (MOTO_IAM_LOAD_MANAGED_POLICIES=true), in one run, interleaved, each on a fresh
# server and a fresh copy of the config: wall time, and wall time minus the provider's own waits
# measured in TF_LOG (ALB waiter 2 x 30 s, ECS cluster 10 s, VPC DNS 10 s, NAT delete 10 s, and
# CreateService retry back-off while the target group has no listener rule yet); RSS of each
# server with the stack applied (for berth, once its 4 tasks run and the targets are healthy).
# moto's ECS runs nothing and its ALB routes nothing: this compares API speed only.
#
#   bench/apply.sh                 # REPS=1: about 4 min
#   REPS=2 bench/apply.sh
#   SMOKE=1 bench/apply.sh         # main.tf + variables.tf + iam.tf only (2 resources), ~30 s
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
BERTH_BIN=${BERTH_BIN:-$REPO/target/release/berth}
[ "${BUILD:-}" = 1 ] && (cd "$REPO" && cargo build --release -p berth -p product-svc -p user-svc)
[ -x "$BERTH_BIN" ] || { echo "apply.sh: no berth at $BERTH_BIN: cargo build --release -p berth -p product-svc -p user-svc (or BUILD=1)" >&2; exit 2; }
if [ "${SMOKE:-}" != 1 ]; then
    for svc in product-svc user-svc; do      # the seed's images run these, found beside berth
        [ -x "$(dirname "$BERTH_BIN")/$svc" ] || command -v "$svc" >/dev/null \
            || { echo "apply.sh: no $svc beside $BERTH_BIN: cargo build --release -p $svc" >&2; exit 2; }
    done
fi
for t in terraform python3 moto_server timeout; do
    command -v "$t" >/dev/null || { echo "apply.sh: missing $t (terraform; pip install 'moto[server]' boto3)" >&2; exit 2; }
done
python3 -c 'import boto3, moto' 2>/dev/null || { echo "apply.sh: needs boto3 and moto (pip install 'moto[server]' boto3)" >&2; exit 2; }
args=(apply --berth "$BERTH_BIN")
[ "${SMOKE:-}" = 1 ] && args+=(--smoke)
[ -n "${REPS:-}" ] && args+=(--reps "$REPS")
OUT=${RESULTS_DIR:-$HERE/results/apply-$(date +%Y%m%d-%H%M%S)$([ "${SMOKE:-}" = 1 ] && echo -smoke || true)}
exec timeout "${TIMEOUT:-3600}" python3 "$HERE/lib/cpbench.py" "${args[@]}" --out "$OUT"
