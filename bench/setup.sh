#!/usr/bin/env bash
# setup.sh — installs what the benchmarks need and are missing, on Debian/Ubuntu (idempotent):
#   apt: nginx haproxy wrk hyperfine curl util-linux (taskset) iproute2 (ss) procps time
#   pip: moto[server] boto3 (moto_server is the apply/control-plane comparison)
# Optional, not installed here: perf (linux-perf) and `cargo install inferno` for profile-alb.sh.
# nginx and haproxy are only run by the harness, as the calling user, on loopback ports; this
# script stops the system services apt may have started for them.
set -euo pipefail
say() { printf 'bench/setup: %s\n' "$*"; }
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"

want=()
for pkg in nginx haproxy wrk hyperfine curl util-linux iproute2 procps time; do
    dpkg -s "$pkg" >/dev/null 2>&1 || want+=("$pkg")
done
if [ ${#want[@]} -gt 0 ]; then
    say "installing ${want[*]} (apt)"
    $sudo apt-get update -qq >/dev/null
    # policy-rc.d exiting 101: apt does not start nginx/haproxy as services while installing them.
    made_policy=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
        $sudo chmod +x /usr/sbin/policy-rc.d
        made_policy=1
    fi
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${want[@]}" >/dev/null
    if [ -n "$made_policy" ]; then $sudo rm -f /usr/sbin/policy-rc.d; fi
fi

if ! command -v moto_server >/dev/null || ! python3 -c 'import boto3, moto' 2>/dev/null; then
    say "installing moto[server] and boto3 (pip)"
    python3 -m pip install --quiet --disable-pip-version-check 'moto[server]' boto3 2>/dev/null \
        || python3 -m pip install --quiet --disable-pip-version-check --user --break-system-packages 'moto[server]' boto3
    hash -r
fi
say "ok: $(nginx -v 2>&1), $(haproxy -v | head -n1), $(wrk --version 2>&1 | head -n1 | cut -d' ' -f1-2), moto $(python3 -c 'import moto; print(moto.__version__)')"
