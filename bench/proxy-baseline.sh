#!/usr/bin/env bash
# proxy-baseline.sh — baseline an HTTP/1.1 path-routing reverse proxy
# (ALB-like: /product-svc* -> 2 targets, /user-svc* -> 2 targets, round robin)
# against nginx and HAProxy, plus the "no proxy" direct-to-backend ceiling.
#
# Installs nothing. Needs: nginx haproxy wrk curl taskset timeout awk ps ss.
# All traffic is on loopback; every load run is time-bounded (wrk -d + timeout).
# Only processes this script starts are stopped, by PID. See README.md.
#
# Knobs (environment variables):
#   PROXY_CMD     extra proxy to compare; must listen on 127.0.0.1:8080 with the
#                 same routing (see README.md). Run via `bash -c "$PROXY_CMD"`.
#                 It gets BENCH_WORKERS / BENCH_MODE / BENCH_LISTEN in its env.
#   PROXY_NAME    label for PROXY_CMD in the table (default: custom)
#   PROXY2_CMD/PROXY2_NAME, PROXY3_CMD/PROXY3_NAME
#                 more proxies to compare in the same run (targets custom2, custom3;
#                 e.g. two builds of the same proxy for an A/B)
#   PROXY_READY_FILE  1: also wait until the proxy command has created the file
#                 $BENCH_READY_FILE (for a proxy configured after it starts listening)
#   STRICT        1: exit 1 when a proxy is skipped, a routing check fails or a
#                 run has errors (smoke tests)
#   TARGETS       default "direct nginx haproxy" (+ "custom" when PROXY_CMD set, ...)
#   MODES         default "shared pinned"  (pinned needs >= 2 CPUs)
#   SCENARIOS     default "product mixed c1"
#   DURATION      seconds per wrk run (default 10)
#   REPS          repetitions per measurement, median reported (default 3)
#   CONNS/THREADS wrk connections/threads for product+mixed (default 64/2)
#   WARMUP        seconds of unrecorded warm-up per target start (default 2)
#   CORE_LOAD     CPU for wrk (+ backends behind a proxy) in pinned mode (0)
#   CORE_SUT      CPU for the system under test in pinned mode (1)
#   READY_TIMEOUT seconds to wait for PROXY_CMD to answer (default 30)
#   RESULTS_DIR   where logs/raw.tsv/summary.md go (default ./results/<time>)
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CONF=$HERE/conf
DURATION=${DURATION:-10}
REPS=${REPS:-3}
CONNS=${CONNS:-64}
THREADS=${THREADS:-2}
WARMUP=${WARMUP:-2}
MODES=${MODES:-"shared pinned"}
SCENARIOS=${SCENARIOS:-"product mixed c1"}
PROXY_CMD=${PROXY_CMD:-}
PROXY_NAME=${PROXY_NAME:-custom}
PROXY2_CMD=${PROXY2_CMD:-}
PROXY2_NAME=${PROXY2_NAME:-custom2}
PROXY3_CMD=${PROXY3_CMD:-}
PROXY3_NAME=${PROXY3_NAME:-custom3}
PROXY_READY_FILE=${PROXY_READY_FILE:-}
STRICT=${STRICT:-}
CORE_LOAD=${CORE_LOAD:-0}
CORE_SUT=${CORE_SUT:-1}
READY_TIMEOUT=${READY_TIMEOUT:-30}
RESULTS_DIR=${RESULTS_DIR:-$HERE/results/$(date +%Y%m%d-%H%M%S)}
if [ -z "${TARGETS:-}" ]; then
    TARGETS="direct nginx haproxy"
    [ -n "$PROXY_CMD" ] && TARGETS="$TARGETS custom"
    [ -n "$PROXY2_CMD" ] && TARGETS="$TARGETS custom2"
    [ -n "$PROXY3_CMD" ] && TARGETS="$TARGETS custom3"
fi
NPROC=$(nproc)
PROXY_URL=http://127.0.0.1:8080
DIRECT_URL=http://127.0.0.11:3000
CLK_TCK=$(getconf CLK_TCK)

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# ---------------------------------------------------------------- checks
need=(wrk curl taskset timeout awk ps ss sed getconf)
need+=(nginx)     # the backends are always nginx
case " $TARGETS " in *" haproxy "*) need+=(haproxy) ;; esac
missing=()
for t in "${need[@]}"; do command -v "$t" >/dev/null 2>&1 || missing+=("$t"); done
[ ${#missing[@]} -eq 0 ] || die "missing tools: ${missing[*]} (Debian: apt-get install nginx haproxy wrk curl procps iproute2 util-linux)"
case " $TARGETS " in *" custom "*) [ -n "$PROXY_CMD" ] || die "TARGETS has custom but PROXY_CMD is empty" ;; esac
case " $TARGETS " in *" custom2 "*) [ -n "$PROXY2_CMD" ] || die "TARGETS has custom2 but PROXY2_CMD is empty" ;; esac
case " $TARGETS " in *" custom3 "*) [ -n "$PROXY3_CMD" ] || die "TARGETS has custom3 but PROXY3_CMD is empty" ;; esac
if [[ " $MODES " == *" pinned "* ]] && [ "$NPROC" -lt 2 ]; then
    log "only $NPROC CPU: skipping pinned mode"; MODES=${MODES//pinned/}
fi
# Only the exact addresses used here (another server on, say, 127.0.1.50:8080 does not conflict).
busy=$(ss -Hltn 2>/dev/null | awk '{print $4}' | grep -E '^(127\.0\.0\.1:8080|127\.0\.0\.1[1-4]:3000|0\.0\.0\.0:(8080|3000)|\*:(8080|3000)|\[::\]:(8080|3000))$' | tr '\n' ' ' || true)
[ -z "$busy" ] || die "ports already in use (need 127.0.0.1:8080 and 127.0.0.11-14:3000 free): $busy"

mkdir -p "$RESULTS_DIR/logs" || die "cannot create $RESULTS_DIR"
RESULTS_DIR=$(cd "$RESULTS_DIR" && pwd)
RUN=$(mktemp -d /tmp/proxy-baseline.XXXXXX) || die "mktemp failed"
chmod 755 "$RUN"; mkdir -p "$RUN/tmp"
RAW=$RESULTS_DIR/raw.tsv
printf 'mode\ttarget\tscenario\trep\trps\tp50_us\tp99_us\trequests\tsock_err\tnon2xx\tsut_cpu_us_per_req\tbackend_cpu_us_per_req\twrk_cpu_us_per_req\tidle_pct\tidle_pct_per_cpu\trouting\n' > "$RAW"

# ------------------------------------------------------- process tracking
STARTED=()          # PIDs of processes this script started (direct children)
LAST_PID=

start_bg() {        # name cpus(or "") cmd... ; sets LAST_PID
    local name=$1 cpus=$2; shift 2
    if [ -n "$cpus" ]; then
        taskset -c "$cpus" "$@" >>"$RUN/$name.out" 2>&1 &
    else
        "$@" >>"$RUN/$name.out" 2>&1 &
    fi
    LAST_PID=$!
    STARTED+=("$LAST_PID")
}

descendants() {     # recursive child PIDs of $1
    local c
    for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do echo "$c"; descendants "$c"; done
}

stop_pid() {        # stop a PID we started (and its descendants), by PID
    local pid=$1 p i alive pids
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
    pids="$pid $(descendants "$pid" | tr '\n' ' ')"
    kill -TERM $pids 2>/dev/null
    for ((i = 0; i < 50; i++)); do
        alive=
        for p in $pids; do kill -0 "$p" 2>/dev/null && [ "$(ps -o stat= -p "$p" 2>/dev/null | cut -c1)" != Z ] && alive=1; done
        [ -z "$alive" ] && break
        sleep 0.1
    done
    [ -n "$alive" ] && kill -KILL $pids 2>/dev/null
    wait "$pid" 2>/dev/null
    local keep=() s
    for s in "${STARTED[@]}"; do [ "$s" = "$pid" ] || keep+=("$s"); done
    STARTED=("${keep[@]+"${keep[@]}"}")
}

cleanup() {
    local p
    for p in "${STARTED[@]+"${STARTED[@]}"}"; do stop_pid "$p"; done
    [ -n "${RUN:-}" ] && [ -d "$RUN" ] && cp "$RUN"/*.out "$RUN"/*.log "$RESULTS_DIR/logs/" 2>/dev/null
    [ -n "${RUN:-}" ] && rm -rf "$RUN"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

# ------------------------------------------------------------- helpers
render() {          # template value out
    sed -e "s#@RUN@#$RUN#g" -e "s#@WORKERS@#$2#g" -e "s#@NBTHREAD@#$2#g" "$1" > "$3"
}

wait_http() {       # url want_code tries(x0.1s) pid
    local i code
    for ((i = 0; i < $3; i++)); do
        code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$1" 2>/dev/null)
        [ "$code" = "$2" ] && return 0
        kill -0 "$4" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

tree_ticks() {      # utime+stime (ticks) of pid and descendants
    local total=0 q t
    for q in "$1" $(descendants "$1"); do
        t=$(awk '{sub(/.*\) /, ""); print $12 + $13}' "/proc/$q/stat" 2>/dev/null)
        total=$((total + ${t:-0}))
    done
    echo "$total"
}

sys_snap() {        # "cpuX idle total" per line (first line = all CPUs)
    awk '/^cpu/{t = 0; for (i = 2; i <= 9; i++) t += $i; print $1, $5 + $6, t}' /proc/stat
}

idle_diff() {       # snap0 snap1 -> "idle%all<TAB>idle%cpu0/idle%cpu1/..."
    awk -v a="$1" -v b="$2" 'BEGIN { n = split(a, A, "\n"); split(b, B, "\n")
        for (i = 1; i <= n; i++) { split(A[i], x, " "); split(B[i], y, " "); dt = y[3] - x[3]
            p = (dt > 0) ? 100 * (y[2] - x[2]) / dt : 0
            if (x[1] == "cpu") all = sprintf("%.1f", p); else per = per (per == "" ? "" : "/") sprintf("%.0f", p) }
        print all "\t" per }'
}

child_us() {        # CPU (user+sys, us) of this shell's reaped children so far; sets CHILD_US
    times > "$RUN/times"   # builtin in the main shell (a $(...) subshell would see only its own children)
    CHILD_US=$(tail -1 "$RUN/times" | awk 'function s(v) { split(v, q, "m"); return q[1] * 60 + q[2] } { printf "%.0f\n", (s($1) + s($2)) * 1e6 }')
}

start_backends() { # cpus workers
    render "$CONF/backends.nginx.conf" "$2" "$RUN/backends.conf"
    start_bg backends "$1" nginx -p "$RUN" -e "$RUN/backends.error.log" -c "$RUN/backends.conf"
    BACKEND_PID=$LAST_PID
    local ip
    for ip in 11 12 13 14; do
        wait_http "http://127.0.0.$ip:3000/health" 200 100 "$BACKEND_PID" || {
            tail -5 "$RUN/backends.out" "$RUN/backends.error.log" >&2 2>/dev/null
            die "backend 127.0.0.$ip:3000 did not come up"; }
    done
}

start_proxy() {     # target cpus workers ; sets SUT_PID (or returns 1)
    local target=$1 cpus=$2 workers=$3 tries=100
    case $target in
        nginx)
            render "$CONF/proxy.nginx.conf" "$workers" "$RUN/proxy-nginx.conf"
            start_bg proxy-nginx "$cpus" nginx -p "$RUN" -e "$RUN/proxy-nginx.error.log" -c "$RUN/proxy-nginx.conf" ;;
        haproxy)
            render "$CONF/proxy.haproxy.cfg" "$workers" "$RUN/proxy-haproxy.cfg"
            start_bg proxy-haproxy "$cpus" haproxy -db -f "$RUN/proxy-haproxy.cfg" ;;
        custom|custom2|custom3)
            export BENCH_WORKERS=$workers BENCH_MODE=$MODE BENCH_LISTEN=127.0.0.1:8080
            export BENCH_READY_FILE=$RUN/ready-$target
            rm -f "$BENCH_READY_FILE"
            tries=$((READY_TIMEOUT * 10))
            start_bg "proxy-$(label "$target")" "$cpus" bash -c "$(proxy_cmd "$target")" ;;
    esac
    SUT_PID=$LAST_PID
    if [ -n "$PROXY_READY_FILE" ] && [[ $target == custom* ]]; then
        local i
        for ((i = 0; i < tries; i++)); do
            [ -e "$BENCH_READY_FILE" ] && break
            kill -0 "$SUT_PID" 2>/dev/null || break
            sleep 0.1
        done
        [ -e "$BENCH_READY_FILE" ] || {
            log "proxy $(label "$target") did not create its ready file within ${READY_TIMEOUT}s"
            tail -5 "$RUN"/proxy-*.out >&2 2>/dev/null
            stop_pid "$SUT_PID"; return 1; }
    fi
    wait_http "$PROXY_URL/product-svc/" 200 "$tries" "$SUT_PID" || {
        log "proxy $target did not answer 200 on $PROXY_URL/product-svc/"
        tail -5 "$RUN"/proxy-*.out "$RUN"/proxy-*.log >&2 2>/dev/null
        stop_pid "$SUT_PID"; return 1; }
}

check_routing() {   # echoes OK or what is wrong
    local p="" u="" i code code2 fails=""
    for i in 1 2 3 4 5 6; do p+=" $(curl -s --max-time 2 "$PROXY_URL/product-svc/check" | grep -o '\(product\|user\)-svc-[0-9]')"; done
    for i in 1 2 3 4 5 6; do u+=" $(curl -s --max-time 2 "$PROXY_URL/user-svc/check" | grep -o '\(product\|user\)-svc-[0-9]')"; done
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$PROXY_URL/other-svc/")
    code2=$(curl -s --max-time 2 "$PROXY_URL/product-svcX" | grep -o 'product-svc-[0-9]' | head -1)
    [[ $p == *product-svc-1* && $p == *product-svc-2* && $p != *user-svc* ]] || fails+=" product:[${p# }]"
    [[ $u == *user-svc-1* && $u == *user-svc-2* && $u != *product-svc* ]] || fails+=" user:[${u# }]"
    [ "$code" = 404 ] || fails+=" unmatched=$code(want404)"
    [ -n "$code2" ] || fails+=" /product-svcX-not-routed"
    echo "${fails:-OK}" | sed 's/^ //; s/ /;/g'
}

run_wrk() {         # scenario base_url logfile [duration]
    local scen=$1 base=$2 out=$3 dur=${4:-$DURATION} pin=() args=()
    [ "$MODE" = pinned ] && pin=(taskset -c "$CORE_LOAD")
    case $scen in
        product) args=(-t"$THREADS" -c"$CONNS" "$base/product-svc/") ;;
        mixed)   args=(-t"$THREADS" -c"$CONNS" -s "$CONF/mixed.lua" "$base/") ;;
        c1)      args=(-t1 -c1 "$base/product-svc/") ;;
        *) die "unknown scenario $scen" ;;
    esac
    timeout -k 5 $((dur + 30)) "${pin[@]+"${pin[@]}"}" wrk -d"${dur}s" --latency "${args[@]}" > "$out" 2>&1
}

parse_wrk() {       # -> rps p50_us p99_us requests sock_err non2xx
    awk 'function us(v) { if (v ~ /us$/) return v + 0; if (v ~ /ms$/) return (v + 0) * 1000;
                          if (v ~ /m$/) return (v + 0) * 60e6; if (v ~ /s$/) return (v + 0) * 1e6; return v + 0 }
         /^ +50%/ { p50 = us($2) } /^ +99%/ { p99 = us($2) }
         /^Requests\/sec:/ { rps = $2 }
         / requests in / { reqs = $1 }
         /Socket errors:/ { gsub(",", ""); err = $4 + $6 + $8 + $10 }
         /Non-2xx or 3xx responses:/ { non2 = $5 }
         END { printf "%s %s %s %s %d %d\n", (rps == "" ? "NA" : rps), (p50 == "" ? "NA" : p50),
               (p99 == "" ? "NA" : p99), (reqs == "" ? 0 : reqs), err, non2 }' "$1"
}

label() {
    case $1 in
        custom) echo "$PROXY_NAME" ;; custom2) echo "$PROXY2_NAME" ;; custom3) echo "$PROXY3_NAME" ;; *) echo "$1" ;;
    esac
}
proxy_cmd() {
    case $1 in custom) echo "$PROXY_CMD" ;; custom2) echo "$PROXY2_CMD" ;; custom3) echo "$PROXY3_CMD" ;; esac
}

# ------------------------------------------------------------ main loop
{
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "nproc: $NPROC"
    echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
    echo "kernel: $(uname -r)"
    echo "nginx: $(nginx -v 2>&1 | sed 's/.*: //')"
    command -v haproxy >/dev/null && echo "haproxy: $(haproxy -v | head -1 | awk '{print $3}')"
    echo "wrk: $(wrk -v 2>&1 | head -1 | awk '{print $2}')"
    echo "settings: DURATION=${DURATION}s REPS=$REPS CONNS=$CONNS THREADS=$THREADS MODES='$MODES' TARGETS='$TARGETS' SCENARIOS='$SCENARIOS'"
    [ -n "$PROXY_CMD" ] && echo "proxy_cmd ($PROXY_NAME): $PROXY_CMD"
    [ -n "$PROXY2_CMD" ] && echo "proxy_cmd ($PROXY2_NAME): $PROXY2_CMD"
    [ -n "$PROXY3_CMD" ] && echo "proxy_cmd ($PROXY3_NAME): $PROXY3_CMD"
    [ -n "${BENCH_ENV_EXTRA:-}" ] && printf '%s\n' "$BENCH_ENV_EXTRA"
} > "$RESULTS_DIR/env.txt"
cat "$RESULTS_DIR/env.txt" >&2
total_runs=0
for MODE in $MODES; do for t in $TARGETS; do for s in $SCENARIOS; do total_runs=$((total_runs + REPS)); done; done; done
log "about $((total_runs * (DURATION + 1) / 60 + 1)) min of load runs; results -> $RESULTS_DIR"

declare -A SKIP=()
for MODE in $MODES; do
    for ((rep = 1; rep <= REPS; rep++)); do          # rep-major: targets interleave, drift hits all alike
        for target in $TARGETS; do
            [ -n "${SKIP[$target]:-}" ] && continue
            if [ "$MODE" = pinned ]; then
                if [ "$target" = direct ]; then bcpus=$CORE_SUT; else bcpus=$CORE_LOAD; fi
                bworkers=1; pcpus=$CORE_SUT; pworkers=1
            else
                bcpus=""; bworkers=$NPROC; pcpus=""; pworkers=$NPROC
            fi
            start_backends "$bcpus" "$bworkers"
            if [ "$target" = direct ]; then
                SUT_PID=$BACKEND_PID; base=$DIRECT_URL; routing=n/a
            else
                if ! start_proxy "$target" "$pcpus" "$pworkers"; then
                    log "skipping $target from now on"; SKIP[$target]=1; stop_pid "$BACKEND_PID"; continue
                fi
                base=$PROXY_URL; routing=$(check_routing)
                [ "$routing" = OK ] || log "WARNING: $(label "$target") routing check: $routing"
            fi
            run_wrk product "$base" "$RESULTS_DIR/logs/warmup.txt" "$WARMUP"
            for scen in $SCENARIOS; do
                f="$RESULTS_DIR/logs/$MODE-$(label "$target")-$scen-$rep.txt"
                c0=$(sys_snap); s0=$(tree_ticks "$SUT_PID"); b0=$(tree_ticks "$BACKEND_PID"); child_us; w0=$CHILD_US
                run_wrk "$scen" "$base" "$f"
                child_us; w1=$CHILD_US; s1=$(tree_ticks "$SUT_PID"); b1=$(tree_ticks "$BACKEND_PID"); c1=$(sys_snap)
                read -r rps p50 p99 reqs serr non2 < <(parse_wrk "$f")
                line=$(awk -v s=$((s1 - s0)) -v b=$((b1 - b0)) -v w=$((w1 - w0)) -v n="$reqs" -v hz="$CLK_TCK" -v d="$target" 'BEGIN {
                        su = (n > 0) ? sprintf("%.1f", s / hz * 1e6 / n) : "NA"
                        bu = (d == "direct") ? "-" : ((n > 0) ? sprintf("%.1f", b / hz * 1e6 / n) : "NA")
                        wu = (n > 0) ? sprintf("%.1f", w / n) : "NA"
                        print su "\t" bu "\t" wu }')
                printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$MODE" "$(label "$target")" "$scen" "$rep" \
                    "$rps" "$p50" "$p99" "$reqs" "$serr" "$non2" "$line" "$(idle_diff "$c0" "$c1")" "$routing" >> "$RAW"
                log "$MODE rep$rep $(label "$target") $scen: ${rps} req/s p50=${p50}us p99=${p99}us err=$serr non2xx=$non2 sut_cpu_us/req=$(cut -f1 <<<"$line")"
            done
            [ "$target" != direct ] && stop_pid "$SUT_PID"
            stop_pid "$BACKEND_PID"
        done
    done
done

# --------------------------------------------------------------- summary
summarize() {
    awk -F'\t' -v modes="$MODES" -v scens="$SCENARIOS" -v targets="$(for t in $TARGETS; do label "$t"; done | tr '\n' ' ')" \
        -v conns="$CONNS" '
    function med(s,   a, n, i, j, x) { n = split(s, a, " "); for (i = 2; i <= n; i++) { x = a[i]; for (j = i - 1; j >= 1 && a[j] + 0 > x + 0; j--) a[j + 1] = a[j]; a[j + 1] = x }
                                     if (n == 0) return "NA"; return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
    function mn(s,   a, n, i, m) { n = split(s, a, " "); m = a[1]; for (i = 2; i <= n; i++) if (a[i] + 0 < m + 0) m = a[i]; return m }
    function mx(s,   a, n, i, m) { n = split(s, a, " "); m = a[1]; for (i = 2; i <= n; i++) if (a[i] + 0 > m + 0) m = a[i]; return m }
    NR > 1 && $5 != "NA" { k = $1 SUBSEP $2 SUBSEP $3; rps[k] = rps[k] " " $5; p50[k] = p50[k] " " $6; p99[k] = p99[k] " " $7
             cpu[k] = cpu[k] " " $11; bcpu[k] = bcpu[k] " " $12; wcpu[k] = wcpu[k] " " $13; idle[k] = idle[k] " " $14
             np = split($15, pc, "/"); for (c = 1; c <= np; c++) idlec[k, c] = idlec[k, c] " " pc[c]; ncpu = np
             err[k] += $9 + $10; seen[k] = 1
             if ($16 != "OK" && $16 != "n/a") bad[k] = 1 }
    END {
        nm = split(modes, M, " "); ns = split(scens, S, " "); nt = split(targets, T, " ")
        sname["product"] = "c" conns " /product-svc/"; sname["mixed"] = "c" conns " mixed"; sname["c1"] = "c1 /product-svc/"
        print "| mode | scenario | target | req/s (median) | spread | p50 us | p99 us | vs nginx | vs direct | +p50 vs direct | SUT CPU us/req | backend CPU us/req | wrk CPU us/req | idle % all (per cpu) | errors |"
        print "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        for (m = 1; m <= nm; m++) for (s = 1; s <= ns; s++) {
            kn = M[m] SUBSEP "nginx" SUBSEP S[s]; kd = M[m] SUBSEP "direct" SUBSEP S[s]
            rn = (kn in seen) ? med(rps[kn]) : ""; rd = (kd in seen) ? med(rps[kd]) : ""; pd = (kd in seen) ? med(p50[kd]) : ""
            for (t = 1; t <= nt; t++) {
                k = M[m] SUBSEP T[t] SUBSEP S[s]; if (!(k in seen)) continue
                r = med(rps[k]); sp = (r > 0) ? sprintf("%.1f%%", 100 * (mx(rps[k]) - mn(rps[k])) / r) : "NA"
                vn = (rn != "" && T[t] != "direct") ? sprintf("%.2f", r / rn) : "-"
                vd = (rd != "" && T[t] != "direct") ? sprintf("%.2f", r / rd) : "-"
                dp = (pd != "" && T[t] != "direct") ? sprintf("%+.0f", med(p50[k]) - pd) : "-"
                pcs = ""; for (c = 1; c <= ncpu; c++) pcs = pcs (c > 1 ? "/" : "") med(idlec[k, c])
                printf "| %s | %s | %s%s | %.0f | %s | %.0f | %.0f | %s | %s | %s | %s | %s | %s | %s (%s) | %d |\n", M[m], sname[S[s]], T[t], (k in bad) ? " (ROUTING!)" : "",
                       r, sp, med(p50[k]), med(p99[k]), vn, vd, dp, med(cpu[k]), (T[t] == "direct") ? "-" : med(bcpu[k]), med(wcpu[k]), med(idle[k]), pcs, err[k]
            }
        }
    }' "$RAW"
}

# Every metric as a ratio to nginx, paired by repetition (rep i of a proxy against rep i of nginx,
# which ran minutes apart at most), median over the reps (min-max in brackets for req/s).
ratios() {
    awk -F'\t' -v modes="$MODES" -v scens="$SCENARIOS" -v targets="$(for t in $TARGETS; do label "$t"; done | tr '\n' ' ')" \
        -v conns="$CONNS" '
    function med(s,   a, n, i, j, x) { n = split(s, a, " "); for (i = 2; i <= n; i++) { x = a[i]; for (j = i - 1; j >= 1 && a[j] + 0 > x + 0; j--) a[j + 1] = a[j]; a[j + 1] = x }
                                     if (n == 0) return "NA"; return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
    function mn(s,   a, n, i, m) { n = split(s, a, " "); m = a[1]; for (i = 2; i <= n; i++) if (a[i] + 0 < m + 0) m = a[i]; return m }
    function mx(s,   a, n, i, m) { n = split(s, a, " "); m = a[1]; for (i = 2; i <= n; i++) if (a[i] + 0 > m + 0) m = a[i]; return m }
    function f(x) { return (x == "" || x == "NA") ? "NA" : sprintf("%.2f", x) }
    NR > 1 && $5 != "NA" { k = $1 SUBSEP $2 SUBSEP $3 SUBSEP $4; rps[k] = $5; p50[k] = $6; p99[k] = $7; cpu[k] = $11; wcpu[k] = $13
             err[$1 SUBSEP $2 SUBSEP $3] += $9 + $10; reps[$4] = 1; seen[$1 SUBSEP $2 SUBSEP $3] = 1 }
    END {
        nm = split(modes, M, " "); ns = split(scens, S, " "); nt = split(targets, T, " ")
        sname["product"] = "c" conns " /product-svc/"; sname["mixed"] = "c" conns " mixed"; sname["c1"] = "c1 /product-svc/"
        print "| mode | scenario | target | req/s x nginx (min-max) | p50 x nginx | p99 x nginx | CPU us/req x nginx | CPU us/req / wrk CPU us/req | errors |"
        print "|---|---|---|---:|---:|---:|---:|---:|---:|"
        for (m = 1; m <= nm; m++) for (s = 1; s <= ns; s++) for (t = 1; t <= nt; t++) {
            if (T[t] == "direct") continue
            kt = M[m] SUBSEP T[t] SUBSEP S[s]; if (!(kt in seen)) continue
            r = ""; a = ""; b = ""; c = ""; w = ""
            for (rep in reps) {
                k = kt SUBSEP rep; kn = M[m] SUBSEP "nginx" SUBSEP S[s] SUBSEP rep
                if (!(k in rps)) continue
                if (wcpu[k] + 0 > 0) w = w " " cpu[k] / wcpu[k]
                if (!(kn in rps)) continue
                if (rps[kn] + 0 > 0) r = r " " rps[k] / rps[kn]
                if (p50[kn] + 0 > 0) a = a " " p50[k] / p50[kn]
                if (p99[kn] + 0 > 0) b = b " " p99[k] / p99[kn]
                if (cpu[kn] + 0 > 0) c = c " " cpu[k] / cpu[kn]
            }
            printf "| %s | %s | %s | %s (%s-%s) | %s | %s | %s | %s | %d |\n", M[m], sname[S[s]], T[t], f(med(r)), f(mn(r)), f(mx(r)),
                   f(med(a)), f(med(b)), f(med(c)), f(med(w)), err[kt]
        }
    }' "$RAW"
}
{
    echo "# proxy-baseline results"
    echo
    echo '```'
    cat "$RESULTS_DIR/env.txt"
    echo '```'
    echo
    summarize
    echo
    echo "## Ratios to nginx (paired by repetition, median over $REPS)"
    echo
    ratios
    echo
    echo "spread = (max-min)/median of req/s over $REPS runs; SUT = the server under test (backend for direct, else the proxy);"
    echo "CPU us/req = process-tree utime+stime during the run / requests (wrk: its own user+sys); idle % = machine idle during the run (per-CPU medians in brackets);"
    echo "errors = wrk socket errors + non-2xx responses summed over runs. Raw per-run data: raw.tsv; wrk output: logs/."
} > "$RESULTS_DIR/summary.md"
echo
cat "$RESULTS_DIR/summary.md"
log "done; results in $RESULTS_DIR"
if [ -n "$STRICT" ]; then
    problems=$(awk -F'\t' 'NR > 1 && ($5 == "NA" || $9 + $10 > 0 || ($16 != "OK" && $16 != "n/a")) { printf "%s/%s/%s/rep%s: rps=%s errors=%d routing=%s\n", $1, $2, $3, $4, $5, $9 + $10, $16 }' "$RAW")
    for t in $TARGETS; do
        [ -n "${SKIP[$t]:-}" ] && problems+="$(label "$t") never came up"$'\n'
    done
    if [ -n "$problems" ]; then log "STRICT: FAILED:"; printf '%s' "$problems" >&2; exit 1; fi
    log "STRICT: every target came up, routed correctly, 0 errors"
fi
